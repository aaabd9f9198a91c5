"""Build the worked example of "Run it on your data": real diffusion images in QSIPrep's layout,
with invented clinical scores.

    python scripts/worked_example.py [--out examples/small64d] [--participants 12] [--seed 64]

The images are dipy's ``small_64D`` (installed with dipy: a 10 x 10 x 10 crop of a real brain
scan, 2-mm voxels, one b = 0 volume and 64 directions at b = 1000 s/mm²). Every participant and
session gets the b = 0 volume and its own seeded choice of 48 of the 64 directions, so that the
sessions differ as repeated real scans do (in which directions were measured), not by added
noise: every voxel value written is one the scanner recorded. The brain mask keeps the voxels
whose b = 0 signal exceeds a fifth of its 99th percentile, and the atlas splits the mask into the
seven regions of the trial's hypothesis in slabs (the regions are named like the trial's, they
are not those anatomical regions). Atlas and mask are written on the images' own grid and affine.

The clinical scores are invented (seeded), so the book built from this example is a
demonstration: ``dataset_description.json`` says so, and the DTI chapter then gives no verdict.

Written (``--out``, default ``examples/small64d``, git-ignored)::

    derivatives/qsiprep/dataset_description.json
    derivatives/qsiprep/sub-<label>/ses-{pre,post}/dwi/
        sub-<label>_ses-<pre|post>_space-ACPC_desc-preproc_dwi.nii.gz  (+ .bval, .bvec)
        sub-<label>_ses-<pre|post>_space-ACPC_desc-brain_mask.nii.gz
    atlas/atlas-slabs_dseg.nii.gz, atlas/atlas-slabs_dseg.tsv
    participants.tsv
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ("L_BA10", "R_BA10", "L_amygdala", "R_amygdala", "L_hippocampus", "R_hippocampus", "vACC")
SESSIONS = ("pre", "post")
DIRECTIONS_PER_SESSION = 48


def small_64d() -> tuple[nib.Nifti1Image, np.ndarray, np.ndarray]:
    """dipy's small_64D image, b-values (s/mm²) and b-vectors (N x 3), from the installed package."""
    from dipy.data import get_fnames

    image_path, bval_path, bvec_path = get_fnames(name="small_64D")
    bvecs = np.loadtxt(bvec_path)
    return nib.load(image_path), np.loadtxt(bval_path), bvecs.T if bvecs.shape[0] == 3 else bvecs


def brain_mask(b0: np.ndarray) -> np.ndarray:
    return b0 > 0.2 * np.percentile(b0, 99)


def slab_atlas(mask: np.ndarray) -> np.ndarray:
    """Labels 1..7 over the mask's voxels in storage order (seven contiguous slabs), 0 outside."""
    atlas = np.zeros(mask.shape, dtype=np.int16)
    indices = np.flatnonzero(mask)
    for label, chunk in enumerate(np.array_split(indices, len(REGIONS)), start=1):
        atlas.flat[chunk] = label
    return atlas


def invented_participants(n: int, rng: np.random.Generator) -> list[dict]:
    """Arms 2:1 (ketamine:saline) and invented ages, sexes and MADRS / QIDS-SR scores."""
    n_saline = n // 3
    arms = ["ketamine"] * (n - n_saline) + ["saline"] * n_saline
    rows = []
    for index, arm in enumerate(arms, start=1):
        madrs_pre = int(rng.integers(22, 41))
        qids_pre = int(rng.integers(12, 22))
        drop = 0.45 if arm == "ketamine" else 0.15
        madrs_post = int(np.clip(round(madrs_pre * (1 - drop) + rng.normal(0, 5)), 0, 60))
        qids_post = int(np.clip(round(qids_pre * (1 - drop) + rng.normal(0, 3)), 0, 27))
        rows.append({"participant_id": f"sub-{index:02d}", "arm": arm, "age": int(rng.integers(21, 66)),
                     "sex": str(rng.choice(["F", "M"])), "madrs_pre": madrs_pre, "madrs_post": madrs_post,
                     "qids_pre": qids_pre, "qids_post": qids_post})
    return rows


def write_tsv(path: Path, rows: list[dict]) -> None:
    columns = list(rows[0])
    lines = ["\t".join(columns)] + ["\t".join(str(row[column]) for column in columns) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build(out: Path, n_participants: int = 12, seed: int = 64) -> Path:
    """Write the worked example under ``out``; returns the QSIPrep derivatives folder."""
    if n_participants < 12:
        raise ValueError(f"--participants {n_participants}: the worked example needs at least 12 (4 saline "
                         "participants at 2:1, the chapter's minimum per arm)")
    rng = np.random.default_rng(seed)
    image, bvals, bvecs = small_64d()
    data = np.asarray(image.dataobj)
    b0_volumes = np.flatnonzero(bvals < 50)
    weighted = np.flatnonzero(bvals >= 50)
    affine, header = image.affine, image.header
    mask = brain_mask(data[..., b0_volumes].mean(axis=-1))

    derivatives = out / "derivatives" / "qsiprep"
    derivatives.mkdir(parents=True, exist_ok=True)
    (derivatives / "dataset_description.json").write_text(json.dumps({
        "Name": "Worked example: dipy's small_64D diffusion images with invented clinical scores",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "scripts/worked_example.py", "Description": __doc__.strip().splitlines()[0]}],
        "SourceDatasets": [{"URL": "https://github.com/dipy/dipy (dipy/data/files/small_64D.nii)"}],
        "Demonstration": "the diffusion images are real (one brain scan, a different choice of 48 of its 64 "
                         "directions per session); the clinical scores are invented",
        "SimulationSeed": seed,
    }, indent=2) + "\n", encoding="utf-8")
    participants = invented_participants(n_participants, rng)
    for row in participants:
        for session in SESSIONS:
            folder = derivatives / row["participant_id"] / f"ses-{session}" / "dwi"
            folder.mkdir(parents=True, exist_ok=True)
            stem = folder / f"{row['participant_id']}_ses-{session}_space-ACPC"
            volumes = np.concatenate([b0_volumes, np.sort(rng.choice(weighted, DIRECTIONS_PER_SESSION, replace=False))])
            dwi = nib.Nifti1Image(data[..., volumes], affine, header)
            dwi.set_data_dtype(header.get_data_dtype())
            nib.save(dwi, f"{stem}_desc-preproc_dwi.nii.gz")
            np.savetxt(f"{stem}_desc-preproc_dwi.bval", bvals[volumes][None, :], fmt="%.6g")
            np.savetxt(f"{stem}_desc-preproc_dwi.bvec", bvecs[volumes].T, fmt="%.8f")
            nib.save(nib.Nifti1Image(mask.astype(np.uint8), affine), f"{stem}_desc-brain_mask.nii.gz")
    write_tsv(out / "participants.tsv", participants)
    atlas_dir = out / "atlas"
    atlas_dir.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(slab_atlas(mask), affine), atlas_dir / "atlas-slabs_dseg.nii.gz")
    write_tsv(atlas_dir / "atlas-slabs_dseg.tsv",
              [{"index": label, "name": name} for label, name in enumerate(REGIONS, start=1)])
    return derivatives


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "examples" / "small64d"))
    parser.add_argument("--participants", type=int, default=12)
    parser.add_argument("--seed", type=int, default=64)
    args = parser.parse_args(argv)
    derivatives = build(Path(args.out), args.participants, args.seed)
    print(f"worked example written: {derivatives} (+ participants.tsv and atlas/ beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
