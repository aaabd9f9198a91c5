# ------------------------------------------------------------- claim notebooks
rule claim:
    """Re-execute the claim notebooks only (use --config only=<claim> for one)."""
    input:
        [f"{WORK}/results/{config['only']}.json"] if config.get("only") else RESULTS,


# ------------------------------------------------------------- simulation studies (imaging claims)
SIMULATION_CODE = {
    "dti-neuroplasticity": ["analysis/claims/dti_neuroplasticity.py", "analysis/claims/verdicts.py",
                            "analysis/stats/trial.py", "analysis/simulate/dti.py"],
    "fmri-prediction": ["analysis/simulate/prediction_study.py", "analysis/stats/prediction.py",
                        "analysis/simulate/fmri.py", "analysis/claims/nimh_crossover.py", "analysis/io.py",
                        "data/ds005917/SHA256SUMS"],
}


rule simulation_study:
    """One scenario of a claim's simulation study: what the analysis detects at the design."""
    input:
        code=lambda wildcards: SIMULATION_CODE[wildcards.claim] + ["analysis/claims/studies.py"],
        registry="claims.yaml",
    output:
        f"{WORK}/simulations/{{claim}}/{{scenario}}.json",
    wildcard_constraints:
        claim="|".join(SIMULATION_CODE),
    params:
        settings=lambda wildcards: json.dumps(config["simulations"][wildcards.claim], sort_keys=True),
    message:
        "Simulation study {wildcards.claim}, scenario {wildcards.scenario}"
    shell:
        "python -m analysis simulation-study --claim {wildcards.claim} --scenario {wildcards.scenario}"
        " --settings {params.settings:q} --out {output}"


rule validate_literature:
    input:
        LITERATURE,
        "analysis/io.py",
        "analysis/schemas.py",
    output:
        touch(f"{WORK}/checks/literature.ok"),
    message:
        "Validating the literature table {input[0]}"
    shell:
        "python -m analysis validate-literature {input[0]}"


rule execute_claim:
    input:
        notebook="book/claims/{claim}.ipynb",
        code=ANALYSIS_CODE,
        registry="claims.yaml",
        data=claim_data,
    output:
        notebook=f"{SITE}/book/claims/{{claim}}.ipynb",
        results=f"{WORK}/results/{{claim}}.json",
    wildcard_constraints:
        claim="|".join(CLAIMS),  # results/benchmarks.json is a copy (rule benchmarks_page), not a claim
    params:
        parameters=lambda wildcards: json.dumps(config["claims"][wildcards.claim]["parameters"], sort_keys=True),
        profile=config.get("profile", "default"),
    message:
        "Executing the claim notebook {input.notebook} (papermill)"
    shell:
        "python -m analysis run-notebook --claim {wildcards.claim} --parameters {params.parameters:q}"
        " --profile {params.profile:q}"
        " --source {input.notebook} --output {output.notebook} --results {output.results}"
        f" --figures {WORK}/results/figures/{{wildcards.claim}}"
