"""The SLURM profile: an n = 800 cohort plans as batched cluster jobs (dry run; no cluster here)."""
import re

import pytest

import yaml

from analysis.build.workflow import load_config, scaled_config

from .conftest import ROOT, snakemake

pytestmark = pytest.mark.workflow  # runs Snakemake or papermill: not in make test-fast

PROFILE = ROOT / "profiles" / "slurm"


def _job_counts(stdout: str) -> dict[str, int]:
    table = stdout[stdout.index("Job stats:"):]
    return {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)}


def test_slurm_profile_uses_the_executor_plugin_with_resources():
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text(encoding="utf-8"))
    assert profile["executor"] == "slurm"
    assert {"runtime", "mem_mb", "slurm_partition"} <= set(profile["default-resources"])
    assert {"dti_roi", "fmri_timeseries", "execute_claim"} <= set(profile["set-resources"])
    import snakemake_executor_plugin_slurm  # noqa: F401  (pinned in requirements.txt)


def test_slurm_dry_run_of_an_800_participant_workflow(tmp_path):
    config = scaled_config(load_config(ROOT / "config" / "default.yaml"), 800, tmp_path)
    config_file = tmp_path / "scale-800.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    result = snakemake("--profile", str(PROFILE), "--configfile", str(config_file), "--dry-run", "--quiet", "rules",
                       timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = _job_counts(result.stdout)
    # 800 participants x 2 sessions in DTI batches; 800 fMRI participants in batches, of the run
    # profile's sizes (the SLURM profile does not override them)
    assert "config" not in yaml.safe_load((PROFILE / "config.yaml").read_text(encoding="utf-8"))
    assert counts["dti_roi"] == -(-1600 // config["dti"]["batch_size"]) == 16
    assert counts["fmri_timeseries"] == -(-800 // config["fmri"]["batch_size"]) == 32
    assert counts["simulate_dti"] == counts["simulate_fmri"] == counts["collect_dti"] == counts["collect_fmri"] == 1
    assert counts["execute_claim"] == 4  # response-rates, nimh-crossover, dti-neuroplasticity, fmri-prediction
    assert counts["simulation_study"] == 3 + 7  # DTI and fMRI scenarios, independent of the cohort size
    assert counts["publish"] == 1 and counts["pdf"] == 1
    assert not (tmp_path / ".work").exists()  # a dry run writes nothing


def test_batch_size_one_gives_one_job_per_participant_and_session(tmp_path):
    config = scaled_config(load_config(ROOT / "config" / "default.yaml"), 20, tmp_path)
    config["dti"]["batch_size"] = 1
    config["fmri"]["batch_size"] = 1
    config_file = tmp_path / "scale-20.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    result = snakemake("--configfile", str(config_file), "--dry-run", "--quiet", "rules", timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = _job_counts(result.stdout)
    assert counts["dti_roi"] == 40 and counts["fmri_timeseries"] == 20


def test_slurm_profile_keeps_cheap_and_book_rules_on_the_login_node():
    # Snakemake's dry run does not say which jobs are local, so read the Snakefile's localrules
    text = (ROOT / "workflow" / "Snakefile").read_text(encoding="utf-8")
    statement = re.search(r"^localrules:(.*?)\n(?=\S)", text, flags=re.MULTILINE | re.DOTALL).group(1)
    local = {name.strip() for name in statement.replace("\n", " ").split(",")}
    every_file = [text] + [path.read_text(encoding="utf-8") for path in sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    rules = {name for source in every_file for name in re.findall(r"^\s*rule (\w+):", source, flags=re.MULTILINE)}
    assert local <= rules  # no stale names
    assert {"collect_dti", "collect_fmri", "stage_book", "scoreboard", "benchmarks_page", "html", "pdf",
            "publish"} <= local
    assert not {"simulate_dti", "simulate_fmri", "dti_roi", "fmri_timeseries", "execute_claim"} & local


def test_dry_run_resolves_every_job_without_lenient_fallbacks(tmp_path):
    """No rule's pattern should also match another rule's output (Snakemake 9 reports such
    ambiguities only as a warning and falls back; --strict-dag-evaluation makes them errors)."""
    config = scaled_config(load_config(ROOT / "config" / "default.yaml"), 20, tmp_path)
    config_file = tmp_path / "scale-20.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    result = snakemake("--configfile", str(config_file), "--dry-run", "--quiet", "rules",
                       "--strict-dag-evaluation", "cyclic-graph", "functions", "periodic-wildcards", timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "InputFunctionException" not in result.stdout + result.stderr
    assert "ambiguous" not in (result.stdout + result.stderr).lower()
