"""Collect steps: the per-batch tables of an imaging stage combined into one table.

:func:`collect_dti` and :func:`collect_fmri` are called by the workflow's ``collect_dti`` and
``collect_fmri`` rules inside the Snakemake process (``run:``, which spares a job its interpreter
start-up and pandas import; see benchmarks/README.md), and by the CLI commands of the same names. Outputs are written
in full only after the combined table passed its checks; an unchanged output keeps its mtime.
"""
from __future__ import annotations

from pathlib import Path

from ..atomic import write_text

__all__ = ["collect_dti", "collect_fmri"]

#: the columns of roi_md.tsv, in order
ROI_MD_COLUMNS = ["participant_id", "session", "roi", "md", "n_voxels"]


def _concat(paths, sort_by):
    import pandas as pd

    table = pd.concat([pd.read_csv(path, sep="\t") for path in paths], ignore_index=True)
    return table.sort_values(sort_by).reset_index(drop=True)


def collect_dti(inputs, qc_inputs, out, qc_out) -> None:
    """Combine the per-batch regional MD tables (``dti-roi`` outputs) into ``out`` (validated as
    ``roi_md.tsv``, sorted by participant, session and region) and their QC tables into
    ``qc_out``.

    Raises
    ------
    DataValidationError
        If a batch table breaks the ``roi_md.tsv`` contract (the message names that file, its
        row and column), or the combined one does (a participant, session and region in two
        batches); ``out`` and ``qc_out`` are then left as they were (under Snakemake, which
        removes a job's old outputs before it runs, they are gone from the staging folder; the
        published ``results/`` and ``_build/`` are untouched).
    """
    from ..io import read_roi_md

    for path in inputs:  # first each batch, so that a message points at the file that holds the row
        read_roi_md(path)
    keys = ["participant_id", "session", "roi"]
    table, qc = _concat(inputs, keys), _concat(qc_inputs, keys)
    out = Path(out)
    temporary = out.with_name(f".{out.name}.check")
    temporary.parent.mkdir(parents=True, exist_ok=True)
    table[ROI_MD_COLUMNS].to_csv(temporary, sep="\t", index=False, float_format="%.10g")
    try:
        read_roi_md(temporary)
    except Exception:
        temporary.unlink()
        raise
    temporary.replace(out)
    write_text(qc_out, qc.to_csv(sep="\t", index=False, float_format="%.6g"), if_changed=True)


def collect_fmri(qc_inputs, out) -> None:
    """Combine the per-batch QC rows of the fMRI stage into ``out``, sorted by participant."""
    table = _concat(qc_inputs, "participant_id")
    write_text(out, table.to_csv(sep="\t", index=False, float_format="%.6g"), if_changed=True)
