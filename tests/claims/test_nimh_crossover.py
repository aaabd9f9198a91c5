"""The vendored NIMH crossover (ds005917): checksums, validation with file/row/column, and the chapter's tables."""
import shutil

import pytest

from analysis.claims import nimh_crossover as trial
from analysis.io import DataValidationError, read_nimh_crossover
from analysis.stats import crossover

from ..conftest import ROOT

DATASET = ROOT / "data" / "ds005917"


@pytest.fixture(scope="module")
def dataset():
    return read_nimh_crossover(DATASET)


def _copy(tmp_path):
    target = tmp_path / "ds005917"
    shutil.copytree(DATASET, target)
    return target


def _edit(folder, name, old, new, *, count=1):
    """Change a file and re-sign it, so that validation (not the checksum) has to catch the change."""
    import hashlib

    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    lines = []
    for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, listed = line.split(maxsplit=1)
        if listed == name:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {listed}")
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_vendored_tables_load_and_the_row_without_a_session_is_reported(dataset):
    assert len(dataset["participants"]) == 58
    assert (dataset["participants"]["group"] == "MDD").sum() == 33
    assert dataset["dropped"] == [{"file": str(DATASET / "phenotype" / "phenotype.tsv"), "row": 226,
                                   "participant_id": "sub-MOA323", "reason": "no session id (and no ratings)"}]
    assert dataset["description"]["License"] == "CC0"


def test_a_changed_file_stops_the_load(tmp_path):
    folder = _copy(tmp_path)
    (folder / "participants.tsv").write_text((folder / "participants.tsv").read_text() + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"participants.tsv: SHA-256 .* the vendored file changed"):
        read_nimh_crossover(folder)


@pytest.mark.parametrize("name,old,new,message", [
    ("phenotype/phenotype.tsv", "sub-MOA101\tses-d2\t24", "sub-MOA101\tses-d3\t24",
     r"phenotype.tsv, row 2 .*column 'session_id': unknown value 'ses-d3'"),
    ("phenotype/phenotype.tsv", "sub-MOA101\tses-d2\t24", "sub-MOA101\tses-d2\t64",
     r"phenotype.tsv, row 2 .*column 'MADRS_Total': expected a value <= 60, got 64"),
    ("phenotype/phenotype.tsv", "sub-MOA101\tses-d2\t24", "sub-MOA101\tses-b0\t24",
     r"phenotype.tsv, row 2 .*column 'participant_id': duplicate row"),
    ("participants.tsv", "MDD\td\tp", "MDD\tk\tp", r"participants.tsv, row 1 .*column 'infusion_1': unknown value 'k'"),
])
def test_bad_rows_are_named_by_file_row_and_column(tmp_path, name, old, new, message):
    folder = _copy(tmp_path)
    _edit(folder, name, old, new)
    with pytest.raises(DataValidationError, match=message):
        read_nimh_crossover(folder)


def test_counts_and_models_match_hand_computations(dataset):
    madrs = trial.long_table(dataset["participants"], dataset["phenotype"])
    counts = crossover.response_counts(madrs).set_index(["outcome", "treatment", "day"])
    row = counts.loc[("response", "ketamine", 2)]
    day2 = madrs[(madrs["treatment"] == "ketamine") & (madrs["day"] == 2)]
    assert row["events"] == int((day2["score"] <= 0.5 * day2["baseline"]).sum()) and row["n"] == len(day2)
    # Clopper-Pearson from its definition: beta quantiles Beta(x, n-x+1) at 2.5% and Beta(x+1, n-x) at 97.5%
    from scipy.stats import beta

    assert crossover.exact_interval(6, 27) == pytest.approx((beta.ppf(0.025, 6, 22), beta.ppf(0.975, 7, 21)))
    paired = crossover.paired_exact_test(madrs, day=2)
    assert paired["both"] + paired["ketamine_only"] + paired["placebo_only"] + paired["neither"] == paired["n_pairs"]
    model = crossover.mixed_model(madrs[madrs["day"] == 2])
    assert model["ci_low"] < model["estimate"] < model["ci_high"]
    assert model["ci_low_t"] < model["ci_low"]  # the t interval is wider
    flow = trial.consort_flow(dataset["participants"], dataset["phenotype"]).set_index("stage")
    assert flow.loc["enrolled", "total"] == 33


def test_what_the_images_can_test(dataset):
    madrs = trial.long_table(dataset["participants"], dataset["phenotype"])
    assert trial.dwi_sessions(dataset["images"], dataset["participants"])["baseline_and_d2"] == 9
    design = trial.fmri_design(madrs, dataset["images"])
    assert design["n"] == 27 and design["n_responders"] == 6
