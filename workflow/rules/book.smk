# ------------------------------------------------------------- the book: stage, pages, HTML, PDF, publish
rule stage_book:
    input:
        BOOK_SOURCES,
    output:
        touch(f"{WORK}/checks/staged.ok"),
    message:
        "Staging the book sources into {SITE}"
    shell:
        f"python -m analysis stage-book {SITE}"


rule scoreboard:
    input:
        "claims.yaml",
        RESULTS,
        "analysis/claims/scoreboard.py",
        "analysis/claims/verdicts.py",
        "analysis/claims/registry.py",
    output:
        scoreboard=f"{SITE}/book/_generated/scoreboard.md",
        key_findings=f"{SITE}/book/_generated/key-findings.md",
        data_statement=f"{SITE}/book/_generated/data-statement.txt",
    shell:
        f"python -m analysis scoreboard {{output.scoreboard}} --key-findings {{output.key_findings}}"
        f" --data-statement {{output.data_statement}} --results-dir {WORK}/results"


rule data_dictionary:
    input:
        literature=LITERATURE,
        to_verify=TO_VERIFY,
        code=["analysis/schemas.py", "analysis/build/pages.py"],
        check=f"{WORK}/checks/literature.ok",
    output:
        f"{SITE}/book/_generated/data-dictionary.md",
    shell:
        "python -m analysis data-dictionary {output} --literature {input.literature} --to-verify {input.to_verify}"


rule cite_this:
    input:
        "CITATION.cff",
        "analysis/build/pages.py",
    output:
        f"{SITE}/book/_generated/cite-this.md",
    params:
        commit=git_commit(),  # a new commit rewrites the box
    shell:
        "python -m analysis cite-this {output} --citation {input[0]}"


rule reproducibility:
    input:
        notebooks=EXECUTED,
        results=RESULTS,
        data=[LITERATURE, TO_VERIFY, PROVENANCE, *LITERATURE_EXTRAS],
        requirements="requirements.txt",
        code="analysis/build/pages.py",
    output:
        f"{SITE}/book/_generated/reproducibility.md",
    params:
        commit=git_commit(),
    shell:
        "python -m analysis reproducibility {output} --notebooks {input.notebooks}"
        " --data {input.data} --results {input.results}"


rule benchmarks_page:
    input:
        report=[BENCHMARK_REPORT] if BENCHMARK_COPY else [],
        code="benchmarks/page.py",
    output:
        page=f"{SITE}/book/_generated/benchmarks.md",
        results_copy=BENCHMARK_COPY,
    params:
        report=f"--report {BENCHMARK_REPORT} --copy {BENCHMARK_COPY[0]}" if BENCHMARK_COPY else "",
    shell:
        "python benchmarks/page.py {output.page} {params.report}"


rule html:
    input:
        f"{WORK}/checks/staged.ok",
        EXECUTED,
        GENERATED,
        f"{SITE}/book/_generated/data-statement.txt",  # the footer's sentence on what the chapters run on
    output:
        f"{SITE}/_build/html/index.html",
    message:
        "Building the HTML book"
    log:
        f"{WORK}/logs/html.log",
    shell:
        f"jupyter-book build {SITE} --builder html --warningiserror --keep-going > {{log}} 2>&1"
        " || {{ tail -n 40 {log}; exit 1; }}"


rule pdf:
    input:
        f"{SITE}/_build/html/index.html",
        "CITATION.cff",
    output:
        f"{SITE}/_build/latex/{PDF_NAME}",
    params:
        commit=git_commit(),  # the title page names the commit
    message:
        "Building the PDF book (XeLaTeX)"
    log:
        f"{WORK}/logs/pdf.log",
    shell:
        f"python -c 'from pathlib import Path; from analysis.build.workflow import write_pdf_config as write;"
        f" write(Path(\"{SITE}/_config.yml\"), Path(\"{SITE}/_config_pdf.yml\"), Path(\"CITATION.cff\"),"
        f" Path(\"{SITE}/book/_generated/data-statement.txt\"))'"
        f" && jupyter-book build {SITE} --builder pdflatex --config {SITE}/_config_pdf.yml --warningiserror"
        " --keep-going > {log} 2>&1"
        " || {{ tail -n 60 {log}; exit 1; }}"


rule publish:
    input:
        html=f"{SITE}/_build/html/index.html",
        pdf=f"{SITE}/_build/latex/{PDF_NAME}",
        results=RESULTS + BENCHMARK_COPY,
    output:
        f"{PUBLISHED}/html/index.html",
        f"{PUBLISHED}/pdf/{PDF_NAME}",
    message:
        f"Publishing the build into {PUBLISHED}/ and {PUBLISHED_RESULTS}/"
    shell:
        f"python -m analysis publish --site-build {SITE}/_build --pdf {{input.pdf}} --results-dir {WORK}/results"
        f" --build-dir {PUBLISHED} --results-out {PUBLISHED_RESULTS}"
