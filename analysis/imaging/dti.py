"""Diffusion tensor fitting and ROI mean diffusivity (dipy ``TensorModel``, WLS).

:func:`roi_mean_md` fits one session. A batch job fits many sessions against one atlas: it reads
the atlas and its label table once (:func:`prepare_regions`) and fits each session with
:func:`fit_regions`, which returns plain rows instead of DataFrames, reads each ``.nii.gz`` in one
ISA-L decompression call and builds dipy's gradient table and ``TensorModel`` once per gradient
scheme (see the hot-spot table in benchmarks/README.md).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

__all__ = ["ImagingInputError", "load_gradients", "roi_mean_md", "read_atlas_labels", "MD_PLAUSIBLE_RANGE",
           "Regions", "prepare_regions", "fit_regions"]

#: columns of the regional table and of its QC table (``fit_regions`` returns rows in this order)
TABLE_COLUMNS = ("roi", "md", "n_voxels")
QC_COLUMNS = ("roi", "n_voxels", "fraction_nonpositive_eigenvalues", "fit_residual")

#: plausible mean diffusivity of brain tissue in mm²/s (grey matter ~0.7e-3 to 1.1e-3, CSF ~3e-3)
MD_PLAUSIBLE_RANGE = (1e-5, 5e-3)


class ImagingInputError(ValueError):
    """An imaging input is unusable; the message names the file and what was expected."""


#: single-file NIfTI magic strings and where they sit: NIfTI-1 at byte 344, NIfTI-2 at byte 4
#: (a ``.hdr``/``.img`` pair or an Analyze header has another magic or none: left to ``nib.load``)
_NIFTI_MAGIC = ((nib.Nifti1Image, 344, b"n+1\0"), (nib.Nifti2Image, 4, b"n+2\0"))


def _nifti_from_gzip(path: Path):
    """A gzipped single-file NIfTI image read whole: the file is decompressed in one call by
    ISA-L (``isal.igzip``, 2-3 times as fast as the stdlib's ``gzip`` stream that ``nib.load``
    reads in pieces; multi-member files as ``gzip`` reads them) and parsed by nibabel's
    ``from_bytes``; the voxels are read at once (scaled as nibabel scales them) and the
    decompressed bytes dropped, so the image holds one copy of its data.

    Returns None for anything else (a stream ISA-L cannot decompress to its end, e.g. one with
    trailing bytes, or a file that is not single-file NIfTI-1 or -2): ``nib.load`` then reads it
    as before, or says what is wrong with it. Errors reading the voxels (a truncated image) are
    raised."""
    from isal import igzip

    try:
        raw = igzip.decompress(path.read_bytes())
    except (OSError, EOFError, ValueError):
        return None
    for image_class, offset, magic in _NIFTI_MAGIC:
        if raw[offset:offset + 4] == magic:
            image = image_class.from_bytes(raw)
            del raw
            return image_class(np.asanyarray(image.dataobj), image.affine, image.header)
    return None


def _load_image(image, what: str):
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.exists():
            raise ImagingInputError(f"{path}: {what} not found")
        try:
            loaded = _nifti_from_gzip(path) if path.name.endswith(".gz") else None
            if loaded is None:
                loaded = nib.load(str(path))
                if loaded.ndim <= 3:  # small: read now (a 4D image is read once, by _read_data)
                    loaded = loaded.__class__(np.asanyarray(loaded.dataobj), loaded.affine, loaded.header)
        except Exception as error:  # nibabel raises many types for corrupt files, gzip/ISA-L for broken streams
            raise ImagingInputError(f"{path}: cannot read the {what} as NIfTI ({type(error).__name__}: {error})") from error
        return loaded, str(path)
    return image, f"<in-memory {what}>"


def _read_data(image, name: str, what: str) -> np.ndarray:
    """The voxel array of `image` in its stored type; a corrupt or truncated file is an
    ImagingInputError naming it."""
    try:
        return np.asanyarray(image.dataobj)
    except Exception as error:  # truncated gzip streams, short files, bad scaling ...
        raise ImagingInputError(f"{name}: cannot read the {what} as NIfTI ({type(error).__name__}: {error})") from error


def load_gradients(bvals, bvecs, *, n_volumes: int | None = None, source: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Read FSL-format b-values (s/mm²) and b-vectors and check them against the DWI.

    Raises
    ------
    ImagingInputError
        If the files cannot be read, their counts disagree with each other or with the
        number of DWI volumes, or the b-values are not in s/mm².
    """
    names = (str(bvals) if isinstance(bvals, (str, Path)) else "bvals",
             str(bvecs) if isinstance(bvecs, (str, Path)) else "bvecs")
    try:
        bval_array = np.loadtxt(bvals, ndmin=1) if isinstance(bvals, (str, Path)) else np.asarray(bvals, dtype=float)
        bvec_array = np.loadtxt(bvecs, ndmin=2) if isinstance(bvecs, (str, Path)) else np.asarray(bvecs, dtype=float)
    except (OSError, ValueError) as error:
        raise ImagingInputError(f"{names[0]} / {names[1]}: cannot read gradient files ({error})") from error
    bval_array = bval_array.ravel()
    if bvec_array.ndim != 2 or 3 not in bvec_array.shape:
        raise ImagingInputError(f"{names[1]}: expected a 3 x N (FSL) or N x 3 array of b-vectors, "
                                f"got shape {bvec_array.shape}")
    if bvec_array.shape[0] == 3 and bvec_array.shape[1] != 3:
        bvec_array = bvec_array.T
    elif bvec_array.shape == (3, 3):
        bvec_array = bvec_array.T  # FSL convention: rows are x, y, z
    if len(bval_array) != len(bvec_array):
        raise ImagingInputError(f"{names[0]} has {len(bval_array)} b-values but {names[1]} has "
                                f"{len(bvec_array)} b-vectors; expected one of each per DWI volume")
    if n_volumes is not None and len(bval_array) != n_volumes:
        raise ImagingInputError(f"{names[0]}: {len(bval_array)} b-values but the DWI {source} has {n_volumes} "
                                "volumes; expected one b-value per volume")
    if bval_array.max() < 50:
        raise ImagingInputError(f"{names[0]}: the largest b-value is {bval_array.max():g}; expected s/mm² "
                                "(e.g. 1000), not ms/µm² (e.g. 1). Mean diffusivity would be in the wrong units.")
    if (bval_array > 50).sum() < 6:
        raise ImagingInputError(f"{names[0]}: a diffusion tensor needs at least 6 diffusion-weighted volumes, "
                                f"got {(bval_array > 50).sum()}")
    return bval_array, bvec_array


def read_atlas_labels(labels) -> dict[int, str]:
    """Label names from a dict or a BIDS-style TSV with columns ``index`` and ``name``.

    Raises
    ------
    ImagingInputError
        If the file is missing, lacks a column, or an index is not an integer (the message
        names the file, row and column).
    """
    if labels is None:
        return {}
    if isinstance(labels, dict):
        return {int(key): str(value) for key, value in labels.items()}
    path = Path(labels)
    if not path.exists():
        raise ImagingInputError(f"{path}: atlas label table not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"index", "name"} - set(reader.fieldnames or ())
        if missing:
            raise ImagingInputError(f"{path}: missing column(s) {sorted(missing)}; expected columns 'index' and 'name'")
        names = {}
        for row in reader:
            text = (row["index"] or "").strip()
            try:
                value = float(text)
                if not math.isfinite(value) or value != round(value):
                    raise ValueError(text)
            except ValueError:  # reader.line_num: the file's line (1 = header), as an editor shows it
                raise ImagingInputError(f"{path}, row {reader.line_num}, column 'index': expected an integer label, "
                                        f"got {text!r}") from None
            names[int(value)] = (row["name"] or "").strip()
    return names


@dataclass(frozen=True, eq=False)
class Regions:
    """An atlas read and checked once, for fitting many sessions (see :func:`prepare_regions`)."""

    labels: np.ndarray          # integer label per voxel (0 = background)
    label_values: tuple         # the labels reported, in order
    names: dict                 # label -> name (empty: the integer label is the name)
    source: str                 # the atlas file, for messages
    affine: np.ndarray | None = None  # voxel-to-world matrix; checked against every DWI's


def _check_same_space(what: str, name: str, shape, affine, dwi_image, dwi_name: str) -> None:
    """An image read on the DWI grid must have the DWI's grid and voxel-to-world matrix."""
    from ..spatial import space_mismatch

    problem = space_mismatch(what, name, shape, affine, dwi_name, dwi_image.shape, getattr(dwi_image, "affine", None))
    if problem:
        raise ImagingInputError(problem)


def prepare_regions(atlas, labels=None) -> Regions:
    """Read and check an atlas (3D integer label image) and its label names once.

    Raises
    ------
    ImagingInputError
        If the atlas cannot be read or its labels are not integers.
    """
    atlas_image, atlas_name = _load_image(atlas, "atlas")
    atlas_data = np.asarray(atlas_image.dataobj)
    if atlas_data.ndim == 4 and atlas_data.shape[3] == 1:
        atlas_data = atlas_data[..., 0]
    if atlas_data.ndim != 3:
        raise ImagingInputError(f"{atlas_name}: expected a 3D label image, got shape {atlas_data.shape}")
    if not np.allclose(atlas_data, np.round(atlas_data)):
        raise ImagingInputError(f"{atlas_name}: expected integer labels")
    atlas_data = np.round(atlas_data).astype(np.int32)
    names = read_atlas_labels(labels)
    label_values = tuple(sorted(names) if names else sorted(int(v) for v in np.unique(atlas_data) if v != 0))
    affine = getattr(atlas_image, "affine", None)
    return Regions(atlas_data, label_values, names, atlas_name, None if affine is None else np.asarray(affine))


_MODELS: dict = {}


def _tensor_model(bvals: np.ndarray, bvecs: np.ndarray):
    """dipy's gradient table and WLS ``TensorModel`` for these gradients, built once per batch
    job for each distinct scheme (sessions of one protocol share it; see benchmarks/README.md)."""
    from dipy.core.gradients import gradient_table
    from dipy.reconst.dti import TensorModel

    key = (bvals.tobytes(), bvecs.tobytes(), bvals.shape, bvecs.shape)
    if key not in _MODELS:
        if len(_MODELS) >= 16:  # many schemes (per-session rotated b-vectors): start again
            _MODELS.clear()
        gtab = gradient_table(bvals, bvecs=bvecs, b0_threshold=50)
        _MODELS[key] = (gtab, TensorModel(gtab, fit_method="WLS"))
    return _MODELS[key]


def fit_regions(regions: Regions, dwi, bvals, bvecs, *, mask=None) -> tuple[list[tuple], list[tuple]]:
    """WLS tensor fit of one session in the voxels of `regions`; mean MD per region.

    Returns ``(rows, qc_rows)``: tuples in the order of ``TABLE_COLUMNS`` and ``QC_COLUMNS``
    (see :func:`roi_mean_md`, which wraps them in DataFrames).
    """
    dwi_image, dwi_name = _load_image(dwi, "DWI")
    if len(dwi_image.shape) != 4:
        raise ImagingInputError(f"{dwi_name}: expected a 4D diffusion image, got shape {dwi_image.shape}")
    _check_same_space("atlas", regions.source, regions.labels.shape, regions.affine, dwi_image, dwi_name)
    bval_array, bvec_array = load_gradients(bvals, bvecs, n_volumes=dwi_image.shape[3], source=dwi_name)
    fit_mask = regions.labels > 0
    if mask is not None:
        mask_image, _ = _load_image(mask, "brain mask")
        _check_same_space("brain mask", str(mask), mask_image.shape, getattr(mask_image, "affine", None), dwi_image,
                          dwi_name)
        fit_mask &= np.asarray(mask_image.dataobj) > 0
    data = _read_data(dwi_image, dwi_name, "DWI")[fit_mask].astype(np.float32)  # (voxels, volumes)
    gtab, model = _tensor_model(bval_array, bvec_array)
    fit = model.fit(data)
    md = np.asarray(fit.md, dtype=float)
    nonpositive = (np.asarray(fit.evals, dtype=float) <= 0).any(axis=1)
    s0 = data[:, gtab.b0s_mask].mean(axis=1)
    predicted = fit.predict(gtab, S0=s0)
    residual = np.sqrt(np.mean((data - predicted) ** 2, axis=1)) / np.maximum(s0, 1e-6)
    voxel_labels = regions.labels[fit_mask]
    rows, qc_rows, empty = [], [], []
    for label in regions.label_values:
        selected = voxel_labels == label
        name = regions.names.get(label, label)
        count = int(selected.sum())
        if count == 0:
            empty.append(str(name))
            continue
        rows.append((name, float(md[selected].mean()), count))
        qc_rows.append((name, count, float(nonpositive[selected].mean()), float(residual[selected].mean())))
    if empty:
        raise ImagingInputError(f"{regions.source}: region(s) {empty} have no voxels inside the brain mask of "
                                f"{dwi_name}; expected every region to cover at least one voxel")
    low, high = MD_PLAUSIBLE_RANGE
    implausible = [(name, value) for name, value, _ in rows if not low <= value <= high]
    if implausible:
        raise ImagingInputError(f"{dwi_name}: mean diffusivity {[round(value, 6) for _, value in implausible]} in "
                                f"{[name for name, _ in implausible]} is outside {low:g}-{high:g} mm²/s; check the "
                                "b-value units and the image scaling")
    return rows, qc_rows


def roi_mean_md(dwi, bvals, bvecs, atlas, *, mask=None, labels=None, return_qc: bool = False):
    """Mean diffusivity per atlas region from a WLS diffusion-tensor fit.

    Parameters
    ----------
    dwi : str, Path or nibabel image
        Preprocessed 4D diffusion-weighted image.
    bvals, bvecs : str, Path or array-like
        FSL-format b-values (s/mm²) and b-vectors, one per volume.
    atlas : str, Path or nibabel image
        3D integer label image on the DWI grid (0 = background).
    mask : str, Path or nibabel image, optional
        Brain mask; voxels outside it are excluded from every region.
    labels : dict or str or Path, optional
        Names of the labels (dict, or TSV with ``index`` and ``name``); without it the
        ``roi`` column holds the integer label.
    return_qc : bool
        Also return a QC table.

    Returns
    -------
    DataFrame
        ``roi`` (name or label), ``md`` (mean over the region's voxels, mm²/s),
        ``n_voxels``. With ``return_qc``, a second DataFrame: ``roi, n_voxels,
        fraction_nonpositive_eigenvalues, fit_residual`` (RMS of the signal residual relative
        to the mean b0 signal).

    Notes
    -----
    The tensor is fitted only in the voxels of the atlas regions (inside the mask), by
    weighted least squares (:class:`dipy.reconst.dti.TensorModel`, ``fit_method="WLS"``).
    MD is the mean of the three eigenvalues; it is in mm²/s because the b-values are in s/mm².
    For many sessions on one atlas, :func:`prepare_regions` once and :func:`fit_regions` per
    session give the same numbers without re-reading the atlas.

    Examples
    --------
    >>> from analysis.simulate.dti import tiny_phantom
    >>> dwi, bvals, bvecs, atlas = tiny_phantom(md=0.8e-3)
    >>> table = roi_mean_md(dwi, bvals, bvecs, atlas, labels={1: "roi"})
    >>> round(float(table["md"].iloc[0]) * 1e3, 2)
    0.8
    """
    import pandas as pd

    rows, qc_rows = fit_regions(prepare_regions(atlas, labels), dwi, bvals, bvecs, mask=mask)
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    if return_qc:
        return table, pd.DataFrame(qc_rows, columns=list(QC_COLUMNS))
    return table
