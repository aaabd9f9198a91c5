"""Checks run before any job: every participant and session a run needs is on disk. A missing one
stops the run with its participant, session and expected file named, so that a typo in a data path
can never end in "nothing to be done" and the last book passed off as this run's."""
from __future__ import annotations

from pathlib import Path

from .bids import bold_paths, dwi_paths
from .io import DataValidationError

__all__ = ["InputCheckError", "dti_participants", "dti_spaces", "fmri_participants"]

#: at most this many missing files are listed in one message (the count says how many there are)
LISTED = 12
#: the fewest participants per arm for the DTI chapter's models: each arm's slope of score change on
#: MD change, with the baseline score as covariate, needs residual degrees of freedom in each arm
MIN_DTI_PER_ARM = 4
#: the fewest participants per class for the fMRI prediction: its stratified 5-fold cross-validation
#: puts at least one of each class in every test fold
MIN_FMRI_PER_CLASS = 5


#: the columns the fMRI chapter reads from its participants table, and what each holds
FMRI_COLUMNS = {"participant_id": "sub-<label>", "responder": "0 or 1", "age": "years",
                "sex": "F or M (a confound)", "madrs_pre": "baseline MADRS (the clinical-only model)"}


class InputCheckError(ValueError):
    """A declared input of the run is missing."""


def _require(path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputCheckError(f"{what} not found: {path} (check the path in your run profile)")
    return path


def _missing_message(missing: list[str], root, layout: str) -> str:
    listed = "\n  ".join(missing[:LISTED]) + (f"\n  ... and {len(missing) - LISTED} more" if len(missing) > LISTED else "")
    return (f"{len(missing)} input file(s) the participants table needs are missing under {root}:\n  {listed}\n"
            f"Expected layout: {layout}")


def dti_participants(root, participants, sessions, *, space: str, entities: dict | None = None) -> list[str]:
    """The participant ids of a real DTI run, after checking the participants table (validated)
    and that every session's DWI, gradients and brain mask exist."""
    from .io import read_participants

    _require(root, "dti.root (the QSIPrep derivatives folder)")
    _require(Path(root) / "dataset_description.json", "the derivatives' dataset_description.json")
    table = read_participants(_require(participants, "dti.participants (the participants table)"))
    ids = table["participant_id"].tolist()
    per_arm = table["arm"].value_counts().reindex(["ketamine", "saline"], fill_value=0)
    if (per_arm < MIN_DTI_PER_ARM).any():
        raise InputCheckError(f"{participants}: {per_arm['ketamine']} ketamine and {per_arm['saline']} saline "
                              f"participants; the DTI chapter's models need at least {MIN_DTI_PER_ARM} in each arm")
    missing = [f"participant {participant}, session {session}: expected {path}"
               for participant in ids for session in sessions
               for path in dwi_paths(root, participant, session, space=space, entities=entities).values()
               if not path.exists()]
    if missing:
        raise InputCheckError(_missing_message(
            missing, root, f"sub-<label>/ses-<session>/dwi/sub-<label>_ses-<session>_space-{space}_desc-preproc_dwi"
                           ".nii.gz (+ .bval, .bvec) and ..._desc-brain_mask.nii.gz"))
    return ids


def dti_spaces(root, participants: list[str], sessions, atlas, *, space: str, entities: dict | None = None) -> None:
    """Check, from the image headers alone (no voxels are read), that the atlas and every brain
    mask share the grid and voxel-to-world matrix of the DWI they are read with: an atlas in
    another space would give numbers from the wrong voxels. Every mismatch is listed, with both
    matrices and how to resample."""
    import nibabel as nib

    from .spatial import space_mismatch

    atlas_header = nib.load(str(_require(atlas, "dti.atlas (the atlas on the DWI grid)")))
    problems: dict[str, list] = {}  # per image checked: the first message and how many DWIs it misfits
    for participant in participants:
        for session in sessions:
            files = dwi_paths(root, participant, session, space=space, entities=entities)
            try:
                dwi = nib.load(str(files["dwi"]))
                mask = nib.load(str(files["mask"]))
            except Exception as error:  # nibabel raises many types for unreadable headers
                problems[f"{participant} {session}"] = [f"participant {participant}, session {session}: cannot read "
                                                        f"the image header ({type(error).__name__}: {error})", 1]
                continue
            for what, name, image in (("atlas", str(atlas), atlas_header), ("brain mask", str(files["mask"]), mask)):
                problem = space_mismatch(what, name, image.shape, image.affine, str(files["dwi"]), dwi.shape, dwi.affine)
                if problem:
                    problems.setdefault(name, [problem, 0])[1] += 1
    if problems:
        messages = [message + (f"\n(the same for {count - 1} other DWI images)" if count > 1 else "")
                    for message, count in problems.values()]
        listed = "\n".join(messages[:LISTED]) + (f"\n... and {len(messages) - LISTED} more" if len(messages) > LISTED else "")
        raise InputCheckError(f"{len(messages)} image(s) not in the space of their DWI:\n{listed}")


def fmri_participants(root, participants, *, space: str, session: str | None = None,
                      run: str | None = None) -> list[str]:
    """The participant ids of a real fMRI run (the table needs the columns of :data:`FMRI_COLUMNS`),
    after checking that every participant's BOLD image, mask and confounds exist.

    The rule for several rest runs: the profile names the one to read (``fmri.run``, e.g. ``"01"``);
    without it, a participant whose rest runs carry ``run-`` entities stops the run, naming the runs
    found. Runs are never combined or picked silently."""
    import pandas as pd

    if not space.startswith("MNI"):
        raise InputCheckError(f"fmri.space is {space!r}: the a-priori ROIs are MNI coordinates (mm), so the BOLD "
                              "images must be in an MNI space (fMRIPrep --output-spaces MNI152NLin2009cAsym)")
    path = _require(participants, "fmri.participants (the participants table)")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    problems = [f"{path}: missing column {column!r} ({meaning})" for column, meaning in FMRI_COLUMNS.items()
                if column not in table.columns]
    if not problems:
        for row, record in enumerate(table.to_dict(orient="records"), start=2):
            where = f"{path}, row {row}, column"
            if not record["participant_id"].startswith("sub-"):
                problems.append(f"{where} participant_id: {record['participant_id']!r} should start with 'sub-'")
            if record["responder"] not in ("0", "1"):
                problems.append(f"{where} responder: {record['responder']!r} should be 0 or 1")
            if record["sex"] not in ("F", "M"):
                problems.append(f"{where} sex: {record['sex']!r} should be F or M")
            for column in ("age", "madrs_pre"):
                try:
                    float(record[column])
                except ValueError:
                    problems.append(f"{where} {column}: {record[column]!r} should be a number")
    if problems:
        raise DataValidationError(problems)
    counts = table["responder"].value_counts().reindex(["1", "0"], fill_value=0)
    if (counts < MIN_FMRI_PER_CLASS).any():
        raise InputCheckError(f"{path}: {counts['1']} responders and {counts['0']} non-responders; the 5-fold "
                              f"cross-validation needs at least {MIN_FMRI_PER_CLASS} of each")
    _require(root, "fmri.root (the fMRIPrep derivatives folder)")
    _require(Path(root) / "dataset_description.json", "the derivatives' dataset_description.json")
    ids = table["participant_id"].tolist()
    missing = [f"participant {participant}: expected {file}" for participant in ids
               for file in bold_paths(root, participant, space=space, session=session, run=run).values()
               if not file.exists()]
    if missing and run in (None, ""):
        bold = {participant: bold_paths(root, participant, space=space, session=session)["bold"] for participant in ids}
        runs = {participant: sorted(path.name.split("_run-")[1].split("_")[0] for path in
                                    path.parent.glob(path.name.replace("_task-rest_", "_task-rest_run-*_")))
                for participant, path in bold.items() if not path.exists()}
        several = {participant: found for participant, found in runs.items() if found}
        if several:
            listed = "; ".join(f"{participant}: run-{', run-'.join(found)}" for participant, found in list(several.items())[:LISTED])
            raise InputCheckError(f"{root}: the rest scans carry run- entities ({listed}); name the run to read with "
                                  "fmri.run in the run profile (e.g. run: \"01\"). Runs are never combined or picked "
                                  "silently.")
    if missing:
        raise InputCheckError(_missing_message(
            missing, root, (f"sub-<label>/ses-{session}/func/sub-<label>_ses-{session}" if session else
                            "sub-<label>/func/sub-<label>") + ("_task-rest" + (f"_run-{run}" if run else ""))
                           + f"_space-{space}_desc-preproc_bold.nii.gz, ..._desc-brain_mask.nii.gz and "
                           "..._desc-confounds_timeseries.tsv"))
    return ids
