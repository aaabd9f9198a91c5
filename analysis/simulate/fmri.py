"""A synthetic baseline resting-state fMRI cohort of ketamine-treated participants.

Each participant's ROI signals come from a small network model: a default-mode (DMN)
factor, a prefrontal factor and a limbic factor (AR(1) processes). Responders have a
stronger DMN loading and a stronger prefrontal-limbic coupling. The two subject-level
parameters are drawn from class-conditional normal distributions, so the best accuracy any
classifier could reach from them (the Bayes accuracy, ``Φ(d'/2)``) is known in advance:
``FmriDesign.true_accuracy``. Head motion (a little larger in non-responders), cardiac and
respiratory noise and white-matter/CSF signals are added to the voxels, and written to an
fMRIPrep-style confounds file.

Only the voxels inside the ROI spheres carry time series; other brain voxels hold a
constant baseline so that the files stay small (the pipeline reads only the spheres).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["FmriDesign", "select_rois", "simulate_latents", "simulate_roi_signals", "write_dataset",
           "bold_paths", "GENERATOR", "GENERATOR_VERSION", "SPACE"]

GENERATOR = "analysis.simulate.fmri"
GENERATOR_VERSION = "1.0"
SPACE = "MNI152NLin2009cAsym"
MOTION = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]


@dataclass(frozen=True)
class FmriDesign:
    """Design of the synthetic fMRI cohort (defaults: 100 participants, about half responders)."""

    n_participants: int = 100
    responder_fraction: float = 0.5
    seed: int = 7501
    n_volumes: int = 150
    repetition_time: float = 2.0
    voxel_size_mm: float = 6.0
    sphere_radius_mm: float = 6.0
    true_accuracy: float = 0.70     # Bayes accuracy of the planted responder difference
    dmn_loading: float = 0.6        # non-responders' mean DMN loading
    coupling: float = 0.15          # non-responders' mean prefrontal-limbic coupling
    parameter_sd: float = 0.15      # between-person SD of both parameters
    motion_scale_responders: float = 0.97
    motion_scale_nonresponders: float = 1.03

    @property
    def d_prime(self) -> float:
        return 2 * float(stats.norm.ppf(self.true_accuracy))

    def to_json(self) -> dict:
        return asdict(self) | {"d_prime": self.d_prime}


def select_rois() -> pd.DataFrame:
    """A-priori ROIs from nilearn's bundled Seitzman et al. (2018) coordinates.

    Returns
    -------
    DataFrame
        ``name, network (DMN | prefrontal | limbic), x, y, z`` (MNI mm): 16 default-mode ROIs
        (every 4th of the 67), the 12 fronto-parietal ROIs anterior of y = 20 mm, and the
        amygdala and hippocampus ROIs.
    """
    from nilearn import datasets

    atlas = datasets.fetch_coords_seitzman_2018()
    table = atlas.rois.reset_index(drop=True).assign(network=list(atlas.networks), region=list(atlas.regions))
    dmn = table[table["network"] == "DefaultMode"].iloc[::4].assign(group="DMN")
    prefrontal = table[(table["network"] == "FrontoParietal") & (table["y"] > 20)].head(12).assign(group="prefrontal")
    limbic = table[table["region"].isin(["amygdala", "hippocampus"])].assign(group="limbic")
    rois = pd.concat([dmn, prefrontal, limbic])
    names = [f"{group}_{region}_{index:03d}" for index, (group, region) in enumerate(zip(rois["group"], rois["region"]))]
    return pd.DataFrame({"name": names, "network": rois["group"].to_numpy(), "x": rois["x"].to_numpy(),
                         "y": rois["y"].to_numpy(), "z": rois["z"].to_numpy()})


def simulate_latents(design: FmriDesign) -> pd.DataFrame:
    """Participants with responder labels, clinical scores and the planted parameters."""
    rng = np.random.default_rng([design.seed, 0])
    n = design.n_participants
    n_responders = int(round(n * design.responder_fraction))
    responder = np.array([1] * n_responders + [0] * (n - n_responders))
    rng.shuffle(responder)
    shift = design.d_prime / np.sqrt(2) * design.parameter_sd
    dmn = rng.normal(design.dmn_loading + shift * responder, design.parameter_sd)
    coupling = rng.normal(design.coupling + shift * responder, design.parameter_sd)
    madrs_pre = np.clip(np.round(rng.normal(32, 5, n)), 20, 50)
    reduction = np.where(responder == 1, rng.uniform(0.5, 0.9, n), rng.uniform(0.0, 0.45, n))
    return pd.DataFrame({
        "participant_id": [f"sub-{index + 1:03d}" for index in range(n)],
        "arm": "ketamine",
        "age": np.clip(np.round(rng.normal(40, 12, n)), 18, 65).astype(int),
        "sex": rng.choice(["F", "M"], size=n, p=[0.55, 0.45]),
        "madrs_pre": madrs_pre.astype(int),
        "madrs_post": np.round(madrs_pre * (1 - reduction)).astype(int),
        "responder": responder,
        "dmn_loading": dmn,
        "prefrontal_limbic_coupling": coupling,
    })


def _ar1(rng, n_volumes, n_series, phi=0.6):
    noise = rng.normal(0, np.sqrt(1 - phi**2), (n_volumes, n_series))
    out = np.empty_like(noise)
    out[0] = rng.normal(0, 1, n_series)
    for t in range(1, n_volumes):
        out[t] = phi * out[t - 1] + noise[t]
    return out


def simulate_roi_signals(design: FmriDesign, rois: pd.DataFrame, dmn_loading: float, coupling: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Neural ROI signals (time x ROI) of one participant from the network model."""
    factors = _ar1(rng, design.n_volumes, 3)  # DMN, prefrontal, limbic
    unique = _ar1(rng, design.n_volumes, len(rois))
    signals = np.empty((design.n_volumes, len(rois)))
    for column, network in enumerate(rois["network"]):
        if network == "DMN":
            signals[:, column] = dmn_loading * factors[:, 0] + unique[:, column]
        elif network == "prefrontal":
            signals[:, column] = 0.6 * factors[:, 1] + unique[:, column]
        else:
            signals[:, column] = 0.6 * factors[:, 2] + coupling * factors[:, 1] + unique[:, column]
    return signals


def _grid(design: FmriDesign):
    from nilearn import datasets, image

    template_mask = datasets.load_mni152_brain_mask(resolution=2)
    size = design.voxel_size_mm
    affine = np.array([[size, 0, 0, -90], [0, size, 0, -126], [0, 0, size, -72], [0, 0, 0, 1.0]])
    shape = (int(np.ceil(182 / size)), int(np.ceil(218 / size)), int(np.ceil(182 / size)))
    mask = image.resample_img(template_mask, target_affine=affine, target_shape=shape, interpolation="nearest",
                              force_resample=True, copy_header=True)
    return affine, shape, np.asarray(mask.dataobj) > 0


def bold_paths(root: Path, participant: str) -> dict[str, Path]:
    """fMRIPrep-style paths of one participant's resting-state run (:func:`analysis.bids.bold_paths`)."""
    from ..bids import bold_paths as paths

    return paths(root, participant, space=SPACE)


def _confounds_and_artefacts(design, rng, motion_scale):
    n = design.n_volumes
    motion = np.cumsum(rng.normal(0, 0.02 * motion_scale, (n, 6)), axis=0)
    motion[:, 3:] *= 0.02  # rotations in radians
    spikes = rng.random(n) < 0.03 * motion_scale
    motion[spikes] += rng.normal(0, 0.3 * motion_scale, (int(spikes.sum()), 6)) * np.array([1, 1, 1, .02, .02, .02])
    derivative = np.vstack([np.zeros((1, 6)), np.diff(motion, axis=0)])
    displacement = np.abs(derivative[:, :3]).sum(axis=1) + 50 * np.abs(derivative[:, 3:]).sum(axis=1)
    time = np.arange(n) * design.repetition_time
    physio = np.column_stack([np.sin(2 * np.pi * 0.23 * time + rng.uniform(0, 6)),
                              np.sin(2 * np.pi * 0.11 * time + rng.uniform(0, 6))])
    white_matter = physio @ [0.6, 0.4] + rng.normal(0, 0.3, n)
    csf = physio @ [0.4, 0.8] + rng.normal(0, 0.3, n)
    confounds = pd.DataFrame(motion, columns=MOTION)
    for index, name in enumerate(MOTION):
        confounds[f"{name}_derivative1"] = derivative[:, index]
    confounds["framewise_displacement"] = displacement
    confounds.loc[0, "framewise_displacement"] = np.nan  # as fMRIPrep writes it
    dvars = 1 + 2 * displacement + rng.normal(0, 0.1, n)
    confounds["std_dvars"] = dvars / np.median(dvars)
    confounds.loc[0, "std_dvars"] = np.nan
    confounds["white_matter"] = 800 + 5 * white_matter
    confounds["csf"] = 1200 + 8 * csf
    return confounds, motion, physio


def write_dataset(root: str | Path, design: FmriDesign = FmriDesign()) -> dict:
    """Write the synthetic cohort as fMRIPrep-style derivatives under ``root``.

    Layout: ``dataset_description.json`` (synthetic, generator, seed, true accuracy),
    ``participants.tsv`` (with ``responder``), ``rois.tsv`` (the a-priori ROIs),
    ``truth/latent_parameters.tsv`` and per participant ``func/*_desc-preproc_bold.nii.gz``,
    ``*_desc-brain_mask.nii.gz`` and ``*_desc-confounds_timeseries.tsv``.
    """
    from nilearn.image import coord_transform

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rois = select_rois()
    latents = simulate_latents(design)
    affine, shape, brain = _grid(design)
    inverse = np.linalg.inv(affine)
    grid = np.stack(np.meshgrid(*[np.arange(size) for size in shape], indexing="ij"), axis=-1)
    world = np.einsum("ij,...j->...i", affine[:3, :3], grid) + affine[:3, 3]
    sphere_index = -np.ones(shape, dtype=int)
    for index, roi in rois.iterrows():
        inside = np.linalg.norm(world - roi[["x", "y", "z"]].to_numpy(float), axis=-1) <= design.sphere_radius_mm
        sphere_index[inside & (sphere_index < 0)] = index
    voxels = np.argwhere(sphere_index >= 0)
    voxel_roi = sphere_index[sphere_index >= 0]
    mask_image = nib.Nifti1Image(brain.astype(np.uint8), affine)
    for index, participant in enumerate(latents.itertuples()):
        rng = np.random.default_rng([design.seed, 1, index])
        motion_scale = design.motion_scale_responders if participant.responder else design.motion_scale_nonresponders
        signals = simulate_roi_signals(design, rois, participant.dmn_loading, participant.prefrontal_limbic_coupling, rng)
        confounds, motion, physio = _confounds_and_artefacts(design, rng, motion_scale)
        voxel_noise = rng.normal(0, 0.5, (design.n_volumes, len(voxels)))
        motion_weights = rng.normal(0, 4.0, (6, len(voxels))) * np.array([[1], [1], [1], [50], [50], [50]])
        physio_weights = rng.normal(0, 0.5, (2, len(voxels)))
        series = signals[:, voxel_roi] + voxel_noise + (motion - motion.mean(0)) @ motion_weights + physio @ physio_weights
        data = np.where(brain[..., None], 1000, 0).astype(np.float32) * np.ones(design.n_volumes, dtype=np.float32)
        data[voxels[:, 0], voxels[:, 1], voxels[:, 2], :] = 1000 + 10 * series.T
        paths = bold_paths(root, participant.participant_id)
        paths["bold"].parent.mkdir(parents=True, exist_ok=True)
        image = nib.Nifti1Image(np.clip(np.round(data), 0, 32767).astype(np.int16), affine)
        image.header.set_xyzt_units("mm", "sec")
        image.header["pixdim"][4] = design.repetition_time
        nib.save(image, paths["bold"])
        nib.save(mask_image, paths["mask"])
        confounds["global_signal"] = 1000 + 10 * series.mean(axis=1)
        confounds.to_csv(paths["confounds"], sep="\t", index=False, float_format="%.6g", na_rep="n/a")
        json_sidecar = paths["bold"].with_name(paths["bold"].name.replace(".nii.gz", ".json"))
        json_sidecar.write_text(json.dumps({"RepetitionTime": design.repetition_time, "TaskName": "rest"}) + "\n")
    latents[["participant_id", "arm", "age", "sex", "madrs_pre", "madrs_post", "responder"]].to_csv(
        root / "participants.tsv", sep="\t", index=False)
    rois.to_csv(root / "rois.tsv", sep="\t", index=False)
    (root / "truth").mkdir(exist_ok=True)
    latents.to_csv(root / "truth" / "latent_parameters.tsv", sep="\t", index=False, float_format="%.10g")
    description = {
        "Name": "Synthetic baseline resting-state fMRI cohort (NOT real participants)",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": GENERATOR, "Version": GENERATOR_VERSION,
                         "Description": "Network model over Seitzman (2018) ROIs with a planted responder "
                                        "difference; fMRIPrep-style confounds."}],
        "Synthetic": True,
        "SimulationSeed": design.seed,
        "TrueAccuracy": design.true_accuracy,
        "SimulationDesign": design.to_json(),
    }
    (root / "dataset_description.json").write_text(json.dumps(description, indent=2, sort_keys=True) + "\n",
                                                   encoding="utf-8")
    return description
