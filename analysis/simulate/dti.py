"""A synthetic version of the randomized DTI trial (Kopelman et al. 2023).

Participants, clinical scores and *true* regional mean diffusivity (MD) are drawn from a
seeded generative model with planted effects; diffusion-weighted images are then simulated
from the diffusion tensor model with Rician noise and written as a QSIPrep-style BIDS
derivatives dataset. The analysis pipeline sees only the images and participants.tsv.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

__all__ = ["ROIS", "TrialDesign", "PlantedEffect", "DEFAULT_EFFECTS", "gradient_scheme", "tensor_signal",
           "add_rician_noise", "simulate_participants", "make_atlas", "simulate_session_dwi",
           "write_dataset", "tiny_phantom", "GENERATOR", "GENERATOR_VERSION", "dwi_paths"]

GENERATOR = "analysis.simulate.dti"
GENERATOR_VERSION = "1.0"
ROIS = ("L_BA10", "R_BA10", "L_amygdala", "R_amygdala", "L_hippocampus", "R_hippocampus", "vACC")
SESSIONS = ("pre", "post")


@dataclass(frozen=True)
class PlantedEffect:
    """Slopes of the 24-h score change on standardized MD change, per arm, in units of the
    scale's residual SD. ``saline`` and ``ketamine`` are the within-arm slopes; their
    difference is the planted group x dMD interaction."""

    roi: str
    scale: str
    saline: float
    ketamine: float
    published: str


#: Planted effects reproducing the direction of every published association (abstract of
#: Kopelman et al. 2023). Sizes are chosen so that the *expected* t statistic at n = 98,
#: 2:1, gives a p-value inside the published range (see `expected_p` in the chapter).
DEFAULT_EFFECTS = (
    PlantedEffect("L_BA10", "madrs", 0.0, 0.50, "interaction, ketamine-driven, p = 0.016-0.082"),
    PlantedEffect("L_BA10", "qids", 0.0, 0.50, "interaction, ketamine-driven, p = 0.016-0.082"),
    PlantedEffect("L_amygdala", "madrs", 0.0, 0.50, "interaction, ketamine-driven, p = 0.016-0.082"),
    PlantedEffect("L_amygdala", "qids", 0.0, 0.50, "interaction, ketamine-driven, p = 0.016-0.082"),
    PlantedEffect("R_BA10", "madrs", 0.33, 0.33, "association in both arms, p = 0.007"),
    PlantedEffect("R_BA10", "qids", 0.33, 0.33, "association in both arms, p = 0.007"),
    PlantedEffect("L_hippocampus", "madrs", 0.0, -0.52, "opposite-direction interaction, MADRS only, p = 0.032-0.06"),
    PlantedEffect("R_hippocampus", "madrs", 0.0, -0.52, "opposite-direction interaction, MADRS only, p = 0.032-0.06"),
)


@dataclass(frozen=True)
class TrialDesign:
    """Design and calibration of the synthetic trial.

    Defaults: 98 adults randomized 2:1 (Kopelman et al. 2023); the ketamine-minus-saline
    24-h difference is 1.3 residual SDs, in line with the standardized group-by-time
    beta of -1.30 of the parent trial (Price et al. 2022); grey-matter MD about 0.85e-3
    mm²/s with a between-person SD of 24-h change of about 2%.
    """

    n_participants: int = 98
    ketamine_fraction: float = 2 / 3
    seed: int = 20231
    madrs_pre_mean: float = 33.0
    madrs_pre_sd: float = 5.0
    qids_pre_mean: float = 17.0
    qids_pre_sd: float = 3.5
    madrs_saline_change: float = -6.0
    qids_saline_change: float = -2.5
    madrs_residual_sd: float = 8.0
    qids_residual_sd: float = 4.0
    ketamine_effect_sd: float = 1.3
    md_pre_mean: float = 0.85e-3
    md_pre_sd: float = 0.05e-3
    md_change_sd: float = 0.016e-3
    ketamine_md_shift_sd: float = -0.3  # mean MD change in the ketamine arm, in SDs of change
    effects: tuple[PlantedEffect, ...] = DEFAULT_EFFECTS
    # imaging
    grid: tuple[int, int, int] = (28, 28, 18)
    voxel_size_mm: float = 3.0
    n_directions: int = 30
    n_b0: int = 2
    bvalue: float = 1000.0
    snr: float = 25.0
    roi_radius_voxels: float = 2.6

    def at_resolution(self, scale: int) -> "TrialDesign":
        """The same anatomy (brain and regions, in mm) on a grid `scale` times finer along each
        axis: `scale`**3 times the voxels, e.g. 2 gives 56 x 56 x 36 voxels of 1.5 mm and about
        eight times the region voxels. The participants and their planted values are unchanged."""
        if int(scale) != scale or scale < 1:
            raise ValueError(f"resolution scale must be a whole number >= 1, got {scale!r}")
        scale = int(scale)
        return replace(self, grid=tuple(size * scale for size in self.grid),
                       voxel_size_mm=self.voxel_size_mm / scale, roi_radius_voxels=self.roi_radius_voxels * scale)

    def to_json(self) -> dict:
        data = asdict(self)
        data["effects"] = [asdict(effect) for effect in self.effects]
        return data


def gradient_scheme(n_directions: int = 30, n_b0: int = 2, bvalue: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    """b-values and unit b-vectors: ``n_b0`` b=0 volumes and ``n_directions`` directions on a
    Fibonacci half-sphere (deterministic)."""
    index = np.arange(n_directions) + 0.5
    z = 1 - index / n_directions  # upper half-sphere
    radius = np.sqrt(1 - z**2)
    phi = np.pi * (1 + 5**0.5) * index
    directions = np.column_stack([radius * np.cos(phi), radius * np.sin(phi), z])
    bvecs = np.vstack([np.zeros((n_b0, 3)), directions])
    bvals = np.concatenate([np.zeros(n_b0), np.full(n_directions, bvalue)])
    return bvals, bvecs


def _random_rotations(rng: np.random.Generator, count: int) -> np.ndarray:
    quaternions = rng.normal(size=(count, 4))
    quaternions /= np.linalg.norm(quaternions, axis=1, keepdims=True)
    w, x, y, z = quaternions.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=1)


def tensor_signal(md: np.ndarray, fa_shape: np.ndarray, rotations: np.ndarray, bvals: np.ndarray,
                  bvecs: np.ndarray, s0: float | np.ndarray = 1000.0) -> np.ndarray:
    """Noise-free signals ``S0 exp(-b gᵀDg)`` for voxels with tensors of given MD.

    ``fa_shape`` (voxels x 3) are eigenvalue ratios with mean 1 (e.g. ``[1.3, 0.85, 0.85]``);
    the eigenvalues are ``md * fa_shape``; ``rotations`` (voxels x 3 x 3) orient them.
    """
    evals = md[:, None] * fa_shape
    tensors = np.einsum("vij,vj,vkj->vik", rotations, evals, rotations)
    quadratic = np.einsum("gi,vij,gj->vg", bvecs, tensors, bvecs)
    return np.asarray(s0)[..., None] * np.exp(-bvals[None, :] * quadratic) if np.ndim(s0) else s0 * np.exp(
        -bvals[None, :] * quadratic)


def add_rician_noise(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of the signal plus complex Gaussian noise (Rician)."""
    real = signal + rng.normal(0.0, sigma, signal.shape)
    imaginary = rng.normal(0.0, sigma, signal.shape)
    return np.sqrt(real**2 + imaginary**2)


def simulate_participants(design: TrialDesign = TrialDesign()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Participants (BIDS participants.tsv columns) and the *true* regional MD per session.

    Returns
    -------
    (participants, true_md)
        participants: ``participant_id, arm, age, sex, madrs_pre, madrs_post, qids_pre, qids_post``.
        true_md: ``participant_id, session, roi, md`` (mm²/s), the values the images encode.
    """
    rng = np.random.default_rng([design.seed, 0])
    n = design.n_participants
    n_ketamine = int(round(n * design.ketamine_fraction))
    arms = np.array(["ketamine"] * n_ketamine + ["saline"] * (n - n_ketamine))
    rng.shuffle(arms)
    ketamine = (arms == "ketamine").astype(float)
    ids = [f"sub-{index + 1:03d}" for index in range(n)]
    age = np.clip(np.round(rng.normal(38, 11, n)), 18, 65).astype(int)
    sex = rng.choice(["F", "M"], size=n, p=[0.6, 0.4])
    md_pre = {roi: rng.normal(design.md_pre_mean, design.md_pre_sd, n) for roi in ROIS}
    z_change = {roi: rng.normal(0.0, 1.0, n) for roi in ROIS}
    for roi in ("L_BA10", "L_amygdala"):
        z_change[roi] = z_change[roi] + design.ketamine_md_shift_sd * ketamine
    md_change = {roi: design.md_change_sd * z_change[roi] for roi in ROIS}
    scores = {}
    for scale, pre_mean, pre_sd, saline_change, sd, top in (
            ("madrs", design.madrs_pre_mean, design.madrs_pre_sd, design.madrs_saline_change,
             design.madrs_residual_sd, 60),
            ("qids", design.qids_pre_mean, design.qids_pre_sd, design.qids_saline_change,
             design.qids_residual_sd, 27)):
        pre = np.clip(np.round(rng.normal(pre_mean, pre_sd, n)), 0.4 * top, top)
        change = saline_change - design.ketamine_effect_sd * sd * ketamine - 0.2 * (pre - pre_mean)
        for effect in design.effects:
            if effect.scale == scale:
                slope = np.where(ketamine == 1, effect.ketamine, effect.saline) * sd
                change = change + slope * z_change[effect.roi]
        # the residual SD of a one-ROI model is `sd`: the planted contributions of the other
        # ROIs count towards it, so the pure noise is what is left
        planted = sum(0.5 * (effect.saline**2 + effect.ketamine**2) for effect in design.effects if effect.scale == scale)
        change = change + rng.normal(0.0, sd * np.sqrt(max(0.05, 1.0 - planted)), n)
        scores[f"{scale}_pre"] = pre.astype(int)
        scores[f"{scale}_post"] = np.clip(np.round(pre + change), 0, top).astype(int)
    participants = pd.DataFrame({"participant_id": ids, "arm": arms, "age": age, "sex": sex, **scores})
    rows = []
    for index, participant in enumerate(ids):
        for roi in ROIS:
            rows.append((participant, "pre", roi, float(md_pre[roi][index])))
            rows.append((participant, "post", roi, float(md_pre[roi][index] + md_change[roi][index])))
    true_md = pd.DataFrame(rows, columns=["participant_id", "session", "roi", "md"])
    return participants, true_md


def _grid_coordinates(shape):
    return np.stack(np.meshgrid(*[np.arange(size) for size in shape], indexing="ij"), axis=-1).astype(float)


def make_atlas(design: TrialDesign = TrialDesign()) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Brain mask, 7-region label image and label names on the simulation grid.

    Regions are spheres at positions mimicking their anatomy (frontal poles anterior,
    amygdalae and hippocampi inferior-medial, vACC midline).
    """
    shape = np.array(design.grid)
    coords = _grid_coordinates(design.grid)
    centre = (shape - 1) / 2
    radii = shape / 2 - 1.5
    brain = (((coords - centre) / radii) ** 2).sum(axis=-1) <= 1
    relative = {"L_BA10": (-0.25, 0.75, 0.15), "R_BA10": (0.25, 0.75, 0.15),
                "L_amygdala": (-0.35, 0.1, -0.45), "R_amygdala": (0.35, 0.1, -0.45),
                "L_hippocampus": (-0.4, -0.3, -0.4), "R_hippocampus": (0.4, -0.3, -0.4),
                "vACC": (0.0, 0.45, -0.15)}
    atlas = np.zeros(design.grid, dtype=np.int16)
    names = {}
    for label, roi in enumerate(ROIS, start=1):
        position = centre + np.array(relative[roi]) * radii
        inside = ((coords - position) ** 2).sum(axis=-1) <= design.roi_radius_voxels**2
        atlas[inside & brain] = label
        names[label] = roi
    return brain, atlas, names


def _affine(design: TrialDesign) -> np.ndarray:
    affine = np.diag([design.voxel_size_mm] * 3 + [1.0])
    affine[:3, 3] = -(np.array(design.grid) - 1) / 2 * design.voxel_size_mm
    return affine


def simulate_session_dwi(design: TrialDesign, participant_index: int, session_index: int, roi_md: dict[str, float],
                         brain: np.ndarray, atlas: np.ndarray, names: dict[int, str]) -> np.ndarray:
    """One session's 4D DWI (int16): white matter, grey matter and CSF with the participant's
    regional MD planted in the atlas regions (voxel heterogeneity averages to it exactly)."""
    bvals, bvecs = gradient_scheme(design.n_directions, design.n_b0, design.bvalue)
    anatomy_rng = np.random.default_rng([design.seed, 1, participant_index])  # same anatomy in both sessions
    noise_rng = np.random.default_rng([design.seed, 2, participant_index, session_index])
    n_voxels = int(np.prod(design.grid))
    coords = _grid_coordinates(design.grid).reshape(-1, 3)
    centre = (np.array(design.grid) - 1) / 2
    depth = np.linalg.norm((coords - centre) / (np.array(design.grid) / 2 - 1.5), axis=1)
    md = np.where(depth < 0.25, 3.0e-3, np.where(depth < 0.6, 0.75e-3, 0.9e-3))  # CSF, white, grey matter
    shape = np.where((depth >= 0.25)[:, None] & (depth < 0.6)[:, None], [[1.8, 0.6, 0.6]], [[1.15, 0.925, 0.925]])
    heterogeneity = anatomy_rng.normal(0.0, 0.03, n_voxels)
    labels = atlas.reshape(-1)
    for label, roi in names.items():
        selected = labels == label
        jitter = heterogeneity[selected] - heterogeneity[selected].mean()
        md[selected] = roi_md[roi] * (1 + jitter)
        shape[selected] = [1.15, 0.925, 0.925]
    md = np.where(labels == 0, md * (1 + heterogeneity), md)
    rotations = _random_rotations(anatomy_rng, n_voxels)
    s0 = np.where(depth < 0.25, 1600.0, 1000.0)
    signal = tensor_signal(md, shape, rotations, bvals, bvecs, s0=s0)
    signal = add_rician_noise(signal, 1000.0 / design.snr, noise_rng)
    signal[~brain.reshape(-1)] = add_rician_noise(np.zeros((int((~brain).sum()), len(bvals))), 1000.0 / design.snr,
                                                  noise_rng)
    return np.clip(np.round(signal), 0, np.iinfo(np.int16).max).astype(np.int16).reshape(*design.grid, len(bvals))


def dwi_paths(root: Path, participant: str, session: str) -> dict[str, Path]:
    """QSIPrep-style derivative paths of one session (see :func:`analysis.imaging.expected_dwi_paths`)."""
    from ..imaging.discovery import expected_dwi_paths

    return expected_dwi_paths(root, participant, session, space="T1w")


def write_dataset(root: str | Path, design: TrialDesign = TrialDesign()) -> dict:
    """Write the whole synthetic cohort under ``root`` (BIDS derivatives layout).

    Layout: ``dataset_description.json`` (GeneratedBy, seed, "synthetic"), ``participants.tsv``,
    ``atlas/atlas-KetamineROIs_dseg.nii.gz`` + ``.tsv``, ``truth/true_roi_md.tsv`` (the planted
    values, for tests only) and per session ``sub-*/ses-*/dwi/*_desc-preproc_dwi.nii.gz``
    with ``.bval``, ``.bvec`` and ``*_desc-brain_mask.nii.gz``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    participants, true_md = simulate_participants(design)
    brain, atlas, names = make_atlas(design)
    affine = _affine(design)
    bvals, bvecs = gradient_scheme(design.n_directions, design.n_b0, design.bvalue)
    (root / "atlas").mkdir(exist_ok=True)
    nib.save(nib.Nifti1Image(atlas, affine), root / "atlas" / "atlas-KetamineROIs_dseg.nii.gz")
    pd.DataFrame({"index": list(names), "name": list(names.values())}).to_csv(
        root / "atlas" / "atlas-KetamineROIs_dseg.tsv", sep="\t", index=False)
    (root / "truth").mkdir(exist_ok=True)
    true_md.to_csv(root / "truth" / "true_roi_md.tsv", sep="\t", index=False, float_format="%.10g")
    lookup = true_md.set_index(["participant_id", "session", "roi"])["md"]
    mask_image = nib.Nifti1Image(brain.astype(np.uint8), affine)
    for index, participant in enumerate(participants["participant_id"]):
        for session_index, session in enumerate(SESSIONS):
            paths = dwi_paths(root, participant, session)
            paths["dwi"].parent.mkdir(parents=True, exist_ok=True)
            roi_md = {roi: float(lookup[(participant, session, roi)]) for roi in ROIS}
            data = simulate_session_dwi(design, index, session_index, roi_md, brain, atlas, names)
            image = nib.Nifti1Image(data, affine)
            image.header.set_xyzt_units("mm", "sec")
            nib.save(image, paths["dwi"])
            np.savetxt(paths["bval"], bvals[None, :], fmt="%g")
            np.savetxt(paths["bvec"], bvecs.T, fmt="%.8f")
            nib.save(mask_image, paths["mask"])
    participants.to_csv(root / "participants.tsv", sep="\t", index=False)
    description = {
        "Name": "Synthetic ketamine DTI trial (NOT real participants)",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": GENERATOR, "Version": GENERATOR_VERSION,
                         "Description": "Synthetic cohort calibrated to Kopelman et al. 2023 "
                                        "(doi:10.1038/s41398-023-02451-0); images simulated from the "
                                        "diffusion tensor model with Rician noise."}],
        "Synthetic": True,
        "SimulationSeed": design.seed,
        "SimulationDesign": design.to_json(),
    }
    (root / "dataset_description.json").write_text(json.dumps(description, indent=2, sort_keys=True) + "\n",
                                                   encoding="utf-8")
    return description


def tiny_phantom(md: float = 0.8e-3, snr: float | None = None, seed: int = 0):
    """A 6x6x6 single-region phantom (in-memory images) for examples and tests."""
    bvals, bvecs = gradient_scheme(30, 2, 1000.0)
    rng = np.random.default_rng(seed)
    n_voxels = 216
    signal = tensor_signal(np.full(n_voxels, md), np.tile([1.2, 0.9, 0.9], (n_voxels, 1)),
                           _random_rotations(rng, n_voxels), bvals, bvecs)
    if snr is not None:
        signal = add_rician_noise(signal, 1000.0 / snr, rng)
    affine = np.eye(4)
    dwi = nib.Nifti1Image(signal.reshape(6, 6, 6, -1).astype(np.float32), affine)
    atlas = nib.Nifti1Image(np.ones((6, 6, 6), dtype=np.int16), affine)
    return dwi, bvals, bvecs, atlas
