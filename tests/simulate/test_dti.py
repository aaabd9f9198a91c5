"""The synthetic trial: design, determinism, labelling and planted effects end to end."""
import json

import numpy as np
import pandas as pd
import pytest

from analysis import fit_interactions, roi_mean_md
from analysis.simulate.dti import ROIS, TrialDesign, dwi_paths, make_atlas, simulate_participants, write_dataset


def test_design_is_98_randomized_two_to_one():
    participants, true_md = simulate_participants(TrialDesign())
    assert len(participants) == 98
    assert (participants["arm"] == "ketamine").sum() == 65 and (participants["arm"] == "saline").sum() == 33
    assert participants["participant_id"].is_unique
    assert set(true_md["roi"]) == set(ROIS) and set(true_md["session"]) == {"pre", "post"}
    assert true_md["md"].between(0.5e-3, 1.2e-3).all()
    assert participants["madrs_post"].between(0, 60).all() and participants["qids_post"].between(0, 27).all()


def test_same_seed_same_cohort_other_seed_other_cohort():
    first, md_first = simulate_participants(TrialDesign(seed=11))
    second, md_second = simulate_participants(TrialDesign(seed=11))
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(md_first, md_second)
    assert not simulate_participants(TrialDesign(seed=12))[0].equals(first)


def test_planted_interactions_recovered_within_their_cis_across_seeds():
    design = TrialDesign()
    covered, positive = {}, {}
    for seed in range(25):
        participants, true_md = simulate_participants(TrialDesign(seed=seed))
        result = fit_interactions(participants, true_md).set_index(["roi", "scale"])
        for effect in design.effects:
            if effect.ketamine == effect.saline:
                continue
            sd = design.madrs_residual_sd if effect.scale == "madrs" else design.qids_residual_sd
            true_value = (effect.ketamine - effect.saline) * sd / (design.md_change_sd * 1e3)
            row = result.loc[(effect.roi, effect.scale)]
            key = (effect.roi, effect.scale)
            covered[key] = covered.get(key, 0) + int(row["ci_low"] <= true_value <= row["ci_high"])
            positive[key] = positive.get(key, 0) + int(np.sign(row["estimate"]) == np.sign(true_value))
    for key in covered:
        assert covered[key] >= 20, f"{key}: the 95% CI covered the planted value in only {covered[key]}/25 cohorts"
        assert positive[key] >= 18, f"{key}: the planted sign was recovered in only {positive[key]}/25 cohorts"


def test_null_regions_show_no_interaction_on_average():
    estimates = []
    for seed in range(25):
        participants, true_md = simulate_participants(TrialDesign(seed=seed))
        result = fit_interactions(participants, true_md).set_index(["roi", "scale"])
        estimates.append(result.loc[("vACC", "madrs"), "t"])
    assert abs(np.mean(estimates)) < 0.6


def test_written_dataset_is_labelled_and_recovers_planted_md(tmp_path):
    description = write_dataset(tmp_path, TrialDesign(n_participants=4, seed=7))
    on_disk = json.loads((tmp_path / "dataset_description.json").read_text())
    assert on_disk == json.loads(json.dumps(description))
    assert on_disk["Synthetic"] is True and "NOT real" in on_disk["Name"]
    assert on_disk["GeneratedBy"][0]["Name"] == "analysis.simulate.dti" and on_disk["SimulationSeed"] == 7
    truth = pd.read_csv(tmp_path / "truth" / "true_roi_md.tsv", sep="\t").set_index(["participant_id", "session", "roi"])
    paths = dwi_paths(tmp_path, "sub-002", "post")
    table = roi_mean_md(paths["dwi"], paths["bval"], paths["bvec"],
                        tmp_path / "atlas" / "atlas-KetamineROIs_dseg.nii.gz", mask=paths["mask"],
                        labels=tmp_path / "atlas" / "atlas-KetamineROIs_dseg.tsv")
    assert list(table["roi"]) == list(ROIS)
    for row in table.itertuples():
        assert abs(row.md / truth.loc[("sub-002", "post", row.roi), "md"] - 1) < 0.015


def test_cohort_fits_the_disk_budget():
    design = TrialDesign()
    # int16, gzip cannot shrink noise much: bound the raw size of the whole cohort
    voxels = np.prod(design.grid) * (design.n_directions + design.n_b0) * 2 * design.n_participants * 2
    assert voxels < 300e6


def test_finer_resolution_keeps_the_anatomy_and_the_planted_values(tmp_path):
    """The benchmarks' finer images: 2x finer grid, same brain and regions in mm, about 8x the
    region voxels, and the planted regional MD is still what a fit recovers."""
    import nibabel as nib

    coarse, fine = TrialDesign(n_participants=2, seed=7), TrialDesign(n_participants=2, seed=7).at_resolution(2)
    assert fine.grid == (56, 56, 36) and fine.voxel_size_mm == 1.5 and fine.n_participants == 2
    coarse_regions = (make_atlas(coarse)[1] > 0).sum() * coarse.voxel_size_mm**3
    fine_regions = (make_atlas(fine)[1] > 0).sum() * fine.voxel_size_mm**3
    assert abs(fine_regions / coarse_regions - 1) < 0.1  # the same volume in mm^3
    with pytest.raises(ValueError, match="whole number >= 1"):
        coarse.at_resolution(0)
    write_dataset(tmp_path, fine)
    truth = pd.read_csv(tmp_path / "truth" / "true_roi_md.tsv", sep="\t")
    np.testing.assert_allclose(truth["md"], simulate_participants(coarse)[1]["md"], rtol=1e-9)  # same planted values
    truth = truth.set_index(["participant_id", "session", "roi"])
    paths = dwi_paths(tmp_path, "sub-001", "pre")
    assert nib.load(paths["dwi"]).shape[:3] == (56, 56, 36)
    table = roi_mean_md(paths["dwi"], paths["bval"], paths["bvec"],
                        tmp_path / "atlas" / "atlas-KetamineROIs_dseg.nii.gz", mask=paths["mask"],
                        labels=tmp_path / "atlas" / "atlas-KetamineROIs_dseg.tsv")
    for row in table.itertuples():
        assert abs(row.md / truth.loc[("sub-001", "pre", row.roi), "md"] - 1) < 0.01
