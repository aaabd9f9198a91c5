"""Find preprocessed diffusion data in a BIDS derivatives folder (pybids)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .dti import ImagingInputError

__all__ = ["discover_dwi", "expected_dwi_paths", "INVENTORY_COLUMNS"]

#: the inventory of what is on disk (``discover_dwi(..., inventory=True)``)
INVENTORY_COLUMNS = ["participant_id", "session", "used", "orientation", "voxel_size_mm", "grid", "n_volumes"]


def expected_dwi_paths(root: str | Path, participant: str, session: str, *, space: str = "T1w",
                       entities: dict | None = None) -> dict[str, Path]:
    """QSIPrep-style paths of one session (:func:`analysis.bids.dwi_paths`)."""
    from ..bids import dwi_paths

    return dwi_paths(root, participant, session, space=space, entities=entities)


#: pybids' names of the entities a profile may choose (``dti.entities``)
_PYBIDS_NAMES = {"acq": "acquisition", "dir": "direction", "run": "run"}


def discover_dwi(root: str | Path, participants: list[str], sessions=("pre", "post"), *, space: str = "T1w",
                 entities: dict | None = None, inventory: bool = False):
    """Index ``root`` with pybids and return one row per participant and session.

    The rule when QSIPrep wrote more than one preprocessed DWI for a session (several ``acq-``,
    ``dir-`` or ``run-`` files): the run stops and asks for a choice, ``dti.entities`` in the run
    profile (e.g. ``{acq: multishell}``); files are never combined or picked silently.

    Returns
    -------
    DataFrame
        ``participant_id, session, dwi, bval, bvec, mask`` (paths relative to the working directory).
        With ``inventory=True``, also a second DataFrame (:data:`INVENTORY_COLUMNS`): every
        preprocessed DWI on disk in the chosen space, whether the run uses it (participants the
        table does not list, e.g. healthy controls, and other sessions are listed, not errors)
        and, from its header, its orientation, voxel size, grid and number of volumes.

    Raises
    ------
    ImagingInputError
        Naming the participant, session and file kind that is missing or ambiguous.
    """
    from bids import BIDSLayout

    root = Path(root)
    if not (root / "dataset_description.json").exists():
        raise ImagingInputError(f"{root}: no dataset_description.json; expected a BIDS derivatives folder")
    layout = BIDSLayout(str(root), validate=False, is_derivative=True)
    rows, problems = [], []
    queries = {"dwi": dict(suffix="dwi", desc="preproc", extension=".nii.gz"),
               "bval": dict(suffix="dwi", desc="preproc", extension=".bval"),
               "bvec": dict(suffix="dwi", desc="preproc", extension=".bvec"),
               "mask": dict(suffix="mask", desc="brain", extension=".nii.gz")}
    # one query per file kind (not per participant, session and kind: the index is queried
    # 4 times instead of 8 n times, which matters for large cohorts)
    found_files: dict[tuple[str, str, str], list[str]] = {}
    chosen = {_PYBIDS_NAMES[name]: value for name, value in (entities or {}).items() if value not in (None, "")}
    for kind, query in queries.items():
        for file in layout.get(space=space, **chosen, **query):
            found_entities = file.get_entities()
            key = (str(found_entities.get("subject")), str(found_entities.get("session")), kind)
            found_files.setdefault(key, []).append(file.path)
    for participant in participants:
        label = participant.removeprefix("sub-")
        for session in sessions:
            row = {"participant_id": participant, "session": session}
            for kind in queries:
                found = sorted(found_files.get((label, session, kind), []))
                if len(found) != 1:
                    expected = expected_dwi_paths(root, participant, session, space=space, entities=entities)[kind]
                    problems.append(f"{participant}, session '{session}': {'no' if not found else len(found)} "
                                    f"{kind} file(s) found; expected exactly one like {expected}"
                                    + (f" (found {', '.join(Path(path).name for path in found)}: choose one with "
                                       "dti.entities, e.g. {acq: ..., run: ...}, in the run profile)"
                                       if len(found) > 1 else ""))
                    continue
                row[kind] = str(Path(found[0]).resolve().relative_to(Path.cwd().resolve())) \
                    if Path(found[0]).resolve().is_relative_to(Path.cwd().resolve()) else found[0]
            rows.append(row)
    if problems:
        shown = "\n  - ".join(problems[:20])
        raise ImagingInputError(f"{root}: {len(problems)} problem(s) finding the diffusion data:\n  - {shown}")
    manifest = pd.DataFrame(rows, columns=["participant_id", "session", "dwi", "bval", "bvec", "mask"])
    if not inventory:
        return manifest
    return manifest, _inventory(found_files, participants, sessions)


def _inventory(found_files: dict, participants: list[str], sessions) -> pd.DataFrame:
    import nibabel as nib

    from ..spatial import orientation, voxel_size

    listed = {participant.removeprefix("sub-") for participant in participants}
    rows = []
    for (subject, session, kind), files in sorted(found_files.items()):
        if kind != "dwi":
            continue
        for file in sorted(files):
            header_image = nib.load(file)  # the header only: no voxels are read
            used = ("yes" if subject in listed and session in sessions else
                    "no: not in the participants table" if subject not in listed else "no: session not analysed")
            shape = header_image.shape
            rows.append({"participant_id": f"sub-{subject}", "session": session, "used": used,
                         "orientation": orientation(header_image.affine), "voxel_size_mm": voxel_size(header_image.affine),
                         "grid": " x ".join(str(size) for size in shape[:3]),
                         "n_volumes": int(shape[3]) if len(shape) > 3 else 1})
    return pd.DataFrame(rows, columns=INVENTORY_COLUMNS)
