"""The benchmark harness (benchmarks/run.py) and the appendix page it feeds."""
import importlib.util
import json
import sys

import pytest


from .conftest import ROOT


def _page():
    """benchmarks/page.py, the renderer of the performance appendix (a script, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_page", ROOT / "benchmarks" / "page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_measure_is_not_charged_for_the_measuring_process(bench):
    # Linux charges a forked child its parent's resident size; this (pytest) process holds
    # 400 MB more, and a do-nothing child must still read small
    import numpy as np

    ballast = np.ones(400 * 2**20 // 8)
    ballast.sum()
    assert bench.measure([sys.executable, "-c", "pass"])["peak_mb"] < 100
    del ballast


def test_measure_reads_peak_memory_of_the_process_tree(bench):
    # a child that holds ~300 MB, started by a shell: the peak covers the grandchild too
    code = "import numpy as np; a = np.ones(300 * 2**20 // 8); a.sum()"
    result = bench.measure(["sh", "-c", f"{sys.executable} -c '{code}'"])
    assert result["peak_mb"] >= 290
    small = bench.measure([sys.executable, "-c", "pass"])
    assert small["peak_mb"] < 100 and small["seconds"] > 0


def test_measure_reports_failures(bench):
    with pytest.raises(RuntimeError, match="benchmark command failed"):
        bench.measure([sys.executable, "-c", "raise SystemExit(3)"])


def test_checks_evaluate_targets(bench):
    report = {
        "build": {"cold_build_s": 540.0, "noop_rebuild_s": 20.0, "prose_edit_executed": ["response-rates"]},
        "dti_throughput": {"n_participants": 98, "parallel_speedup": 1.6, "ratio_vs_plain_dipy_2core": 0.7,
                           "parallel_speedup_own": 1.85, "ratio_vs_plain_dipy_own_2core": 1.1,
                           # as from an older harness: whole runs only
                           "larger_cohort": {"n_participants": 400, "parallel_speedup": 1.9,
                                             "ratio_vs_plain_dipy_2core": 1.4},
                           "finer_images": {"n_participants": 98, "label": "98, 1.5-mm images",
                                            "parallel_speedup": 1.85, "parallel_speedup_own": 1.95,
                                            "ratio_vs_plain_dipy_2core": 1.5, "ratio_vs_plain_dipy_own_2core": 1.6}},
        "fmri_stage": {"n_participants": 98, "parallel_speedup": 1.5, "parallel_speedup_own": 1.7},
        "scaling": {"sizes": [50, 800], "stages": {"a": [{"n": 50, "peak_mb": 5000.0}, {"n": 800, "peak_mb": 900.0}]}},
    }
    checks = bench.checks(report)
    assert checks["cold_build_le_600s"] is True and checks["noop_rebuild_le_15s"] is False
    assert checks["prose_edit_reexecutes_only_that_claim"] is True
    # each cohort size is judged on its own: no "best of" across sizes
    # speed-ups judged on the stage's own time (run minus no-op); whole runs reported beside; a
    # cohort without an own time (here n = 400, as from an older harness) is not measured there,
    # and no other measure stands in for it
    assert checks["dti_speedup_2core_ge_1_8"] == {"98": True, "400": None, "98, 1.5-mm images": True}
    assert checks["dti_speedup_2core_ge_1_8_whole_run"] == {"98": False, "400": True, "98, 1.5-mm images": True}
    assert checks["fmri_speedup_2core_ge_1_8"] == {"98": False}
    assert checks["fmri_speedup_2core_ge_1_8_whole_run"] == {"98": False}
    # throughput like for like: whole commands on both sides (the own-time ratio, 1.1 at n = 98,
    # takes the engine's start-up off the stage's side only and is not judged)
    assert checks["dti_throughput_ge_plain_dipy"] == {"98": False, "400": True, "98, 1.5-mm images": True}
    assert "dti_throughput_ge_plain_dipy_whole_run" not in checks
    assert checks["peak_memory_le_4gb_at_largest_n"] is True  # judged at the largest n only
    assert bench.checks({})["cold_build_le_600s"] is None
    _verdict = _page()._verdict

    assert _verdict({"400": True, "98, 1.5-mm images": True, "98": False}) == (
        "not met at n = 98; met at n = 98, 1.5-mm images; met at n = 400")  # by cohort size
    assert _verdict({"98": True, "400": None}) == "met at n = 98; not measured at n = 400"
    # every measured process runs with one BLAS/OpenMP thread, as Snakemake's jobs do
    assert all(bench.ENV[name] == "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))


def test_own_time_is_the_median_of_paired_differences(bench, monkeypatch):
    """Each stage run minus the no-op run after it; a stage too short to tell from the
    engine's jitter gets no own-time speed-up rather than a noisy one."""
    def scripted(stage: dict, noop: dict):
        runs = {cores: iter(values) for cores, values in stage.items()}
        noops = {cores: iter(values) for cores, values in noop.items()}
        monkeypatch.setattr(bench, "time_stage", lambda checkout, config, target, clear, cores: next(runs[cores]))
        monkeypatch.setattr(bench, "time_noop", lambda checkout, config, target, cores: next(noops[cores]))

    scripted({1: [10.0, 12.0, 11.0], 2: [6.0, 6.5, 5.5]}, {1: [1.0, 1.2, 1.1], 2: [1.0, 1.1, 1.05]})
    result = bench.time_stage_cores(None, None, "t", None, 3)
    assert result["stage_1core_own_samples_s"] == [9.0, 10.8, 9.9] and result["stage_1core_own_s"] == 9.9
    assert result["stage_2core_own_samples_s"] == [5.0, 5.4, 4.45] and result["stage_2core_own_s"] == 5.0
    assert result["stage_2core_s"] == 6.0 and result["noop_2core_s"] == 1.05
    assert result["parallel_speedup"] == round(11.0 / 6.0, 3)
    assert result["parallel_speedup_own"] == round(9.9 / 5.0, 3)

    # plain dipy (`also`) is timed once per repeat; the run of median time is reported
    scripted({1: [10.0, 12.0, 11.0], 2: [6.0, 6.5, 5.5]}, {1: [1.0, 1.2, 1.1], 2: [1.0, 1.1, 1.05]})
    plain = iter([{"seconds": 4.0, "run": "a"}, {"seconds": 3.0, "run": "b"}, {"seconds": 5.0, "run": "c"}])
    result = bench.time_stage_cores(None, None, "t", None, 3, also=lambda: next(plain))
    assert bench._median_run(result["also"]) == {"seconds": 4.0, "run": "a", "samples_s": [4.0, 3.0, 5.0]}

    scripted({1: [1.5, 1.6], 2: [1.4, 1.3]}, {1: [1.0, 1.1], 2: [1.2, 1.0]})
    result = bench.time_stage_cores(None, None, "t", None, 2)
    assert result["parallel_speedup_own"] is None and result["stage_2core_own_s"] is None
    assert bench.checks({"fmri_stage": {"n_participants": 20, **result}})["fmri_speedup_2core_ge_1_8"] == {"20": None}


def test_executed_claims_parses_snakemake_messages(bench):
    output = ("Executing the claim notebook book/claims/response-rates.ipynb (papermill)\n"
              "Executing the claim notebook book/claims/fmri-prediction.ipynb (papermill)\n")
    assert bench.executed_claims(output) == ["fmri-prediction", "response-rates"]


def test_benchmarks_page_without_a_report_says_so(tmp_path):
    text = _page().benchmarks_markdown(None, tmp_path)
    assert "No benchmark has been recorded yet" in text and "make bench" in text


def test_benchmarks_page_from_a_report(tmp_path, bench):
    report = {
        "machine": {"cpus": 2, "python": "3.11"}, "commit": "0123456789abcdef", "quick": False,
        "build": {"cold_build_s": 500.0, "cold_build_executed": ["a", "b"], "noop_rebuild_s": 4.0, "cold_build_peak_mb": 812.4,
                  "noop_rebuild_executed": [], "prose_edit_rebuild_s": 90.0,
                  "prose_edit_executed": ["response-rates"]},
        "dti_throughput": {"n_participants": 98, "sessions": 196, "fitted_voxels": 100000, "repeats": 3,
                           "stage_1core_s": 10.0, "stage_2core_s": 5.2, "parallel_speedup": 1.923,
                           "stage_1core_samples_s": [10.0, 9.0], "stage_2core_samples_s": [5.0, 5.2],
                           "stage_1core_voxels_per_s": 10000.0, "stage_2core_voxels_per_s": 19230.8,
                           "stage_1core_sessions_per_s": 19.6, "stage_2core_sessions_per_s": 37.7,
                           "unbatched_2core_s": 52.0, "batching_speedup_2core": 10.0,
                           "plain_dipy_wls": {"voxels": 100000, "voxels_per_s": 12000.0, "sessions_per_s": 23.5},
                           "plain_dipy_wls_whole_brain": {"voxels": 900000, "voxels_per_s": 90000.0,
                                                          "sessions_per_s": 19.6},
                           "ratio_vs_plain_dipy_1core": 0.833, "ratio_vs_plain_dipy_2core": 1.603,
                           "ratio_vs_whole_brain_route_2core": 1.923,
                           "noop_1core_s": 1.0, "noop_2core_s": 1.0, "stage_1core_own_s": 9.0,
                           "stage_2core_own_s": 4.2, "parallel_speedup_own": 2.143,
                           "stage_1core_own_voxels_per_s": 11111.1, "stage_2core_own_voxels_per_s": 23809.5,
                           "stage_1core_own_sessions_per_s": 21.78, "stage_2core_own_sessions_per_s": 46.67,
                           "ratio_vs_plain_dipy_own_2core": 1.984},
        "fmri_stage": {"stage_1core_s_per_subject": 1.0, "stage_2core_s_per_subject": 0.55, "parallel_speedup": 1.82,
                       "parallel_speedup_own": 1.9, "n_participants": 98, "stage_1core_s": 98.0, "stage_2core_s": 53.9},
        "prediction": {"n_participants": 98, "runs": [{"n_permutations": 0, "seconds": 5.0},
                                                      {"n_permutations": 100, "seconds": 20.0}]},
        "scaling": {"sizes": [50, 100], "stages": {"dti_stage": [{"n": 50, "seconds": 10.0, "peak_mb": 150.0},
                                                                 {"n": 100, "seconds": 20.0, "peak_mb": 151.0}]},
                    "fit": {"dti_stage": {"seconds_per_participant": 0.2, "intercept_s": 0.0}}, "peak_mb_max": 151.0},
    }
    dti = report["dti_throughput"]
    dti["finer_images"] = {**{key: value for key, value in dti.items() if key != "unbatched_2core_s"},
                           "label": "98, 1.5-mm images", "resolution_scale": 2, "grid": [56, 56, 36],
                           "fitted_voxels": 800000}
    report["checks"] = bench.checks(report)
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    text = _page().benchmarks_markdown(path, tmp_path / "figures")
    assert "not met" not in text and text.count("  - met") == 9, text
    assert "met at n = 98; met at n = 98, 1.5-mm images" in text
    assert "(56 x 56 x 36 voxels; the same anatomy in mm, 4082 fitted voxels per session instead of 510)" in text
    assert "the same DTI speed-up on whole `snakemake` runs" in text
    # stage on 1 and 2 cores / plain dipy (same voxels: voxels/s; whole brain: sessions/s), whole commands
    assert "  - 0.83\n  - 1.60\n" in text and "  - 1.00\n  - 1.92\n" in text and "0.2000" in text
    assert "whole commands on both sides" in text and "peaked at 812 MB" in text
    assert "DTI, fitted voxels/s (s), own time" in text and "  - 2.14x" in text
    assert "  - 1.92x (1.73-2.00 over repeats)" in text  # per-repeat ratios 10/5 and 9/5.2
    assert "about 15.0 s per 100 permutations on top of 5.0 s" in text
    assert "Exponent, n = 50 to 100" in text and "  - 1.00\n:::" in text  # 10 s -> 20 s for twice the n
    assert "(of which a no-op run of the same command: 1.0 s)" in text
    assert "judged on each stage's own time" in text
    assert "fMRI at n = 98: 9.8 s of 98.0 s" in text and "DTI at n = 98: 0.4 s of 10.0 s" in text  # S = 2 T2 - T1
    assert (tmp_path / "figures" / "benchmarks-scaling.png").stat().st_size > 1000
    assert (tmp_path / "figures" / "benchmarks-prediction.png").stat().st_size > 1000


def test_benchmarks_page_survives_a_partial_report(tmp_path):
    """A report lacking some cases or keys (a --only or --quick run, or a DTI case with only
    timings) still renders, with "-" where a value was not measured."""
    report = {"machine": {"cpus": 2}, "commit": "0123456789abcdef",
              "dti_throughput": {"n_participants": 98, "stage_1core_s": 7.0, "stage_2core_s": 4.0,
                                 "parallel_speedup": 1.75, "larger_cohort": {"n_participants": 400}},
              "fmri_stage": {"parallel_speedup": 1.9},
              "checks": {"dti_speedup_2core_ge_1_8": False, "fmri_speedup_2core_ge_1_8": True}}
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    text = _page().benchmarks_markdown(path, tmp_path / "figures")
    assert "  - - (7.0)" in text and "1.75x" in text and "  - not met" in text
    assert "Scaling with cohort size" not in text  # not measured, not shown


def _compare():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # compare.py imports run.py beside it
    try:
        spec = importlib.util.spec_from_file_location("bench_compare", ROOT / "benchmarks" / "compare.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


def test_workaround_rule_and_its_page_section(tmp_path):
    """The 10% rule: a workaround stays when removing it slows any measure by 10% or more (medians of
    the samples); the page shows every median, the change and the decision."""
    compare = _compare()

    def run(revision, dti, noop, fmri):
        return {"revision": revision, "commit": "0123456789abcdef",
                "samples": {"dti_stage_s": dti, "noop_s": noop, "fmri_stage_s": fmri}}

    runs = [run("main", [8.0, 9.0, 100.0], [2.0, 2.0, 2.0], [20.0, 21.0, 22.0]),
            run("no-isal", [8.6, 9.5, 9.5], [2.0, 2.1, 2.0], [20.0, 21.0, 22.0]),  # +5.6%: removed
            run("no-freeze", [9.9, 9.9, 9.0], [2.0, 2.0, 2.0], [21.0, 21.0, 23.0])]  # +10%: kept
    result = compare.summary(runs, {"no-isal": "nib.load instead of ISA-L"}, 98, 3)
    first, second = result["after"]
    assert result["before"]["median_s"]["dti_stage_s"] == 9.0  # a median, so the 100-s outlier does not count
    assert first["change_vs_before"]["dti_stage_s"] == pytest.approx(0.0556, abs=1e-4)
    assert not first["keeps_workaround"] and second["keeps_workaround"]
    report = tmp_path / "benchmarks.json"
    report.write_text(json.dumps({"machine": {"cpus": 2}, "commit": "0123456789abcdef", "workarounds": result}))
    text = _page().benchmarks_markdown(report, tmp_path / "figures")
    assert "## Speed workarounds, with and without" in text and "at least 10% slower" in text
    assert "* - Without: nib.load instead of ISA-L" in text and "  - 9.50 (+6%)" in text
    assert text.count("  - removed") == 1 and text.count("  - kept") == 1
