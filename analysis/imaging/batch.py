"""Batch runners: one process fits many sessions (DTI) or extracts many participants' time series
(fMRI), so that imports and the atlas are paid once. They read only the files named in their
arguments and return rows and text; the caller writes them, after the whole batch succeeded."""
from __future__ import annotations

import csv
from pathlib import Path

from .dti import QC_COLUMNS, TABLE_COLUMNS, ImagingInputError, fit_regions, prepare_regions

__all__ = ["MANIFEST_COLUMNS", "read_manifest", "dti_batch", "fmri_batch"]

#: the columns ``discover-dti`` writes and a DTI batch reads
MANIFEST_COLUMNS = ("participant_id", "session", "dwi", "bval", "bvec", "mask")


def read_manifest(path: str | Path) -> dict[tuple[str, str], list[dict]]:
    """The manifest's rows by (participant, session)."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [column for column in MANIFEST_COLUMNS if column not in (reader.fieldnames or ())]
        if missing:
            raise ImagingInputError(f"{path}: missing column(s) {missing}; expected {list(MANIFEST_COLUMNS)} "
                                    "(written by `python -m analysis discover-dti`)")
        manifest: dict[tuple[str, str], list[dict]] = {}
        for row in reader:
            manifest.setdefault((row["participant_id"], row["session"]), []).append(row)
    return manifest


def dti_batch(manifest_path, items, atlas, labels, *, freeze: bool = False) -> tuple[list[tuple], list[tuple]]:
    """Tensor fit and regional MD of every (participant, session) in ``items``: the table rows and
    the QC rows, each with its header row first (plain rows: no DataFrame per session)."""
    manifest = read_manifest(manifest_path)
    regions = prepare_regions(atlas, labels)
    if freeze:  # dipy's import chain, then freeze it: the collections in the loop skip it
        import dipy.reconst.dti  # noqa: F401

        from ..runtime import freeze_objects

        freeze_objects()
    table = [("participant_id", "session", *TABLE_COLUMNS)]
    qc = [("participant_id", "session", *QC_COLUMNS)]
    for participant, session in items:
        entries = manifest.get((participant, session), [])
        if len(entries) != 1:
            raise ImagingInputError(f"{manifest_path}: {len(entries) or 'no'} entries for {participant}, session "
                                    f"{session}; expected exactly one")
        row = entries[0]
        try:  # an empty `mask` cell: no brain mask, the regions' voxels are fitted as they are
            rows, qc_rows = fit_regions(regions, row["dwi"], row["bval"], row["bvec"], mask=row["mask"] or None)
        except ImagingInputError as error:
            raise ImagingInputError(f"{participant}, session {session}: {error}") from None
        table += [(participant, session, roi, f"{md:.10g}", n_voxels) for roi, md, n_voxels in rows]
        qc += [(participant, session, roi, n_voxels, f"{fraction:.6g}", f"{residual:.6g}")
               for roi, n_voxels, fraction, residual in qc_rows]
    return table, qc


def fmri_batch(participants, bolds, masks, rois_path, outputs, *, freeze: bool = False) -> tuple[dict[str, str], str]:
    """Confound-cleaned ROI time series of each participant: ``{output path: TSV text}`` and the QC
    table's text (one row per participant, naming its time-series file)."""
    import warnings

    import pandas as pd

    from .fmri import extract_roi_timeseries, freeze_imported_objects

    rois = pd.read_csv(rois_path, sep="\t")
    if freeze:
        freeze_imported_objects()  # nilearn's per-image gc.collect() then skips the imported libraries
    series, rows = {}, []
    for participant, bold, mask, out in zip(participants, bolds, masks, outputs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                timeseries, qc = extract_roi_timeseries(bold, rois, mask=mask)
        except (ImagingInputError, ValueError) as error:
            raise ImagingInputError(f"{participant}: {error}") from None
        series[out] = pd.DataFrame(timeseries, columns=rois["name"]).to_csv(sep="\t", index=False, float_format="%.7g")
        rows.append({"participant_id": participant, **qc, "timeseries": out})
    return series, pd.DataFrame(rows).to_csv(sep="\t", index=False, float_format="%.6g")
