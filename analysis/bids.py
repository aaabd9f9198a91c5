"""The derivative file names this book reads: one place for the BIDS patterns of QSIPrep (DWI)
and fMRIPrep (BOLD) outputs, used by the workflow, the discovery step and the synthetic cohorts."""
from __future__ import annotations

from pathlib import Path

__all__ = ["DWI_ENTITIES", "dwi_paths", "bold_paths", "confounds_path"]


#: the BIDS entities a run profile may choose for DWI files (``dti.entities``), in file-name order
DWI_ENTITIES = ("acq", "dir", "run")


def dwi_paths(root, participant: str, session: str, *, space: str, entities: dict | None = None) -> dict[str, Path]:
    """QSIPrep-style paths of one session: ``sub-*/ses-*/dwi/*_space-<space>_desc-preproc_dwi.nii.gz``
    with its ``.bval``/``.bvec`` and ``*_desc-brain_mask.nii.gz``. ``entities`` (``acq``, ``dir``,
    ``run``) pick one acquisition when QSIPrep wrote several; they go in BIDS order."""
    entities = entities or {}
    unknown = set(entities) - set(DWI_ENTITIES)
    if unknown:
        raise ValueError(f"dti.entities: unknown BIDS entity {sorted(unknown)}; choose from {list(DWI_ENTITIES)}")
    chosen = "".join(f"_{name}-{entities[name]}" for name in DWI_ENTITIES if entities.get(name) not in (None, ""))
    base = (Path(root) / participant / f"ses-{session}" / "dwi" /
            f"{participant}_ses-{session}{chosen}_space-{space}")
    return {"dwi": Path(f"{base}_desc-preproc_dwi.nii.gz"), "bval": Path(f"{base}_desc-preproc_dwi.bval"),
            "bvec": Path(f"{base}_desc-preproc_dwi.bvec"), "mask": Path(f"{base}_desc-brain_mask.nii.gz")}


def bold_paths(root, participant: str, *, space: str, session: str | None = None,
               run: str | None = None) -> dict[str, Path]:
    """fMRIPrep-style paths of one participant's resting-state run: the preprocessed BOLD image,
    its brain mask and the confounds table; with ``session``, the ``ses-<session>`` level fMRIPrep
    writes for a dataset with sessions (e.g. the baseline scan of a pre/post study); with ``run``
    (e.g. ``01``), the ``run-`` entity fMRIPrep keeps when a session has several rest runs."""
    folder = Path(root) / participant
    name = participant
    if session:
        folder, name = folder / f"ses-{session}", f"{participant}_ses-{session}"
    prefix = folder / "func" / (f"{name}_task-rest" + (f"_run-{run}" if run not in (None, "") else ""))
    return {"bold": Path(f"{prefix}_space-{space}_desc-preproc_bold.nii.gz"),
            "mask": Path(f"{prefix}_space-{space}_desc-brain_mask.nii.gz"),
            "confounds": Path(f"{prefix}_desc-confounds_timeseries.tsv")}


def confounds_path(bold) -> Path:
    """The fMRIPrep confounds table beside a preprocessed BOLD image (the same name without the
    ``space-`` and later entities)."""
    return Path(str(bold).split("_space-")[0] + "_desc-confounds_timeseries.tsv")
