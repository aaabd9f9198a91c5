"""analysis.imaging.dti: MD recovery, agreement with dipy, and bad inputs."""
import gzip
import nibabel as nib
import numpy as np
import pytest

from analysis import roi_mean_md
from analysis.imaging.dti import ImagingInputError, load_gradients
from analysis.simulate.dti import tiny_phantom


def test_md_exact_without_noise():
    dwi, bvals, bvecs, atlas = tiny_phantom(md=0.9e-3)
    table = roi_mean_md(dwi, bvals, bvecs, atlas)
    assert table["md"].iloc[0] == pytest.approx(0.9e-3, rel=1e-6)
    assert table["roi"].iloc[0] == 1 and table["n_voxels"].iloc[0] == 216


@pytest.mark.parametrize("md", [0.7e-3, 0.85e-3, 1.1e-3])
def test_md_recovered_within_one_percent_with_rician_noise(md):
    dwi, bvals, bvecs, atlas = tiny_phantom(md=md, snr=25, seed=3)
    table, qc = roi_mean_md(dwi, bvals, bvecs, atlas, labels={1: "region"}, return_qc=True)
    assert abs(table["md"].iloc[0] / md - 1) < 0.01
    assert qc["fraction_nonpositive_eigenvalues"].iloc[0] == 0
    assert 0 < qc["fit_residual"].iloc[0] < 0.1


def test_agrees_with_direct_dipy_fit_on_dipy_sample_data(tmp_path):
    """dipy's shipped real sample DWI (small_64D): our ROI means equal a direct TensorModel WLS fit."""
    from dipy.core.gradients import gradient_table
    from dipy.data import get_fnames
    from dipy.reconst.dti import TensorModel

    dwi_path, bval_path, bvec_path = get_fnames(name="small_64D")
    image = nib.load(dwi_path)
    data = np.asarray(image.dataobj, dtype=np.float32)
    labels = np.zeros(image.shape[:3], dtype=np.int16)
    labels[: image.shape[0] // 2] = 1
    labels[image.shape[0] // 2:] = 2
    atlas = nib.Nifti1Image(labels, image.affine)
    table = roi_mean_md(dwi_path, bval_path, bvec_path, atlas, labels={1: "left", 2: "right"})
    bvals, bvecs = np.loadtxt(bval_path), np.loadtxt(bvec_path)
    fit = TensorModel(gradient_table(bvals, bvecs=bvecs.T if bvecs.shape[0] == 3 else bvecs,
                                     b0_threshold=50), fit_method="WLS").fit(data)
    for label, name in ((1, "left"), (2, "right")):
        direct = float(fit.md[labels == label].mean())
        assert table.set_index("roi").loc[name, "md"] == pytest.approx(direct, rel=1e-6)


def _write_phantom(tmp_path, bvals=None, bvecs=None):
    dwi, default_bvals, default_bvecs, atlas = tiny_phantom()
    dwi_path, atlas_path = tmp_path / "dwi.nii.gz", tmp_path / "atlas.nii.gz"
    nib.save(dwi, dwi_path)
    nib.save(atlas, atlas_path)
    bval_path, bvec_path = tmp_path / "dwi.bval", tmp_path / "dwi.bvec"
    np.savetxt(bval_path, (default_bvals if bvals is None else bvals)[None, :], fmt="%g")
    np.savetxt(bvec_path, (default_bvecs if bvecs is None else bvecs).T, fmt="%.6f")
    return dwi_path, bval_path, bvec_path, atlas_path


def test_bval_bvec_count_mismatch(tmp_path):
    _, bvals, bvecs, _ = tiny_phantom()
    paths = _write_phantom(tmp_path, bvecs=bvecs[:-1])
    with pytest.raises(ImagingInputError, match=r"dwi.bval has 32 b-values but .*dwi.bvec has 31 b-vectors"):
        roi_mean_md(*paths)


def test_gradient_count_differs_from_volumes(tmp_path):
    _, bvals, bvecs, _ = tiny_phantom()
    paths = _write_phantom(tmp_path, bvals=bvals[:-2], bvecs=bvecs[:-2])
    with pytest.raises(ImagingInputError, match=r"30 b-values but the DWI .*dwi.nii.gz has 32 volumes"):
        roi_mean_md(*paths)


def test_bvalues_in_wrong_units(tmp_path):
    _, bvals, bvecs, _ = tiny_phantom()
    paths = _write_phantom(tmp_path, bvals=bvals / 1000)
    with pytest.raises(ImagingInputError, match=r"expected s/mm² .*wrong units"):
        roi_mean_md(*paths)


def test_unreadable_nifti(tmp_path):
    dwi_path, bval_path, bvec_path, atlas_path = _write_phantom(tmp_path)
    dwi_path.write_bytes(b"this is not a NIfTI file")
    with pytest.raises(ImagingInputError, match=r"dwi.nii.gz: cannot read the DWI as NIfTI"):
        roi_mean_md(dwi_path, bval_path, bvec_path, atlas_path)


def test_truncated_dwi_names_the_file(tmp_path):
    dwi_path, bval_path, bvec_path, atlas_path = _write_phantom(tmp_path)
    raw = gzip.decompress(dwi_path.read_bytes())
    dwi_path.write_bytes(gzip.compress(raw[: len(raw) * 2 // 3]))  # header intact, last volumes missing
    with pytest.raises(ImagingInputError, match=r"dwi.nii.gz: cannot read the DWI as NIfTI"):
        roi_mean_md(dwi_path, bval_path, bvec_path, atlas_path)


def test_roi_with_no_voxels(tmp_path):
    dwi_path, bval_path, bvec_path, atlas_path = _write_phantom(tmp_path)
    with pytest.raises(ImagingInputError, match=r"atlas.nii.gz: region\(s\) \['vACC'\] have no voxels"):
        roi_mean_md(dwi_path, bval_path, bvec_path, atlas_path, labels={1: "L_BA10", 2: "vACC"})


def test_missing_file_and_grid_mismatch(tmp_path):
    dwi_path, bval_path, bvec_path, atlas_path = _write_phantom(tmp_path)
    with pytest.raises(ImagingInputError, match="missing.nii.gz: DWI not found"):
        roi_mean_md(tmp_path / "missing.nii.gz", bval_path, bvec_path, atlas_path)
    small = nib.Nifti1Image(np.ones((5, 6, 6), dtype=np.int16), np.eye(4))
    with pytest.raises(ImagingInputError, match="atlas's grid .5, 6, 6. differs from the grid"):
        roi_mean_md(dwi_path, bval_path, bvec_path, small)


@pytest.mark.parametrize("change,expected", [
    (lambda affine: affine @ np.array([[1, 0, 0, 50], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]), "RAS"),
    (lambda affine: np.diag([-1.0, 1, 1, 1]) @ affine, "LAS")])
def test_atlas_or_mask_in_another_space_is_refused(tmp_path, change, expected):
    """Same grid, other place (shifted 50 mm, or flipped left-right): its labels would fall on the
    wrong voxels, so the fit stops and says how the two images differ and how to resample."""
    dwi_path, bval_path, bvec_path, atlas_path = _write_phantom(tmp_path)
    atlas = nib.load(atlas_path)
    moved = nib.Nifti1Image(np.asarray(atlas.dataobj), change(atlas.affine))
    nib.save(moved, tmp_path / "moved.nii.gz")
    with pytest.raises(ImagingInputError) as error:
        roi_mean_md(dwi_path, bval_path, bvec_path, tmp_path / "moved.nii.gz")
    message = str(error.value)
    assert "moved.nii.gz: the atlas has the grid of" in message and "but not its position in space" in message
    assert f"orientation {expected}" in message and "resample_to_img" in message
    mask = nib.Nifti1Image(np.ones(atlas.shape, dtype=np.uint8), change(atlas.affine))
    nib.save(mask, tmp_path / "mask.nii.gz")
    with pytest.raises(ImagingInputError, match="mask.nii.gz: the brain mask has the grid of .* but not its position"):
        roi_mean_md(dwi_path, bval_path, bvec_path, atlas_path, mask=tmp_path / "mask.nii.gz")
    nearly = nib.Nifti1Image(np.asarray(atlas.dataobj), atlas.affine + 1e-5)  # rounding in a file: accepted
    assert len(roi_mean_md(dwi_path, bval_path, bvec_path, nearly)) > 0


def test_load_gradients_accepts_both_orientations():
    _, bvals, bvecs, _ = tiny_phantom()
    _, rows = load_gradients(bvals, bvecs)
    _, columns = load_gradients(bvals, bvecs.T)
    np.testing.assert_allclose(rows, columns)


def test_cli_bad_input_leaves_no_output(tmp_path):
    """A failing per-session job writes nothing (no half-written derivatives)."""
    import pandas as pd

    from analysis.__main__ import main

    dwi_path, bval_path, bvec_path, atlas_path = _write_phantom(tmp_path)
    bval_path.write_text(" ".join(["0", "0"] + ["1"] * 30) + "\n")  # ms/µm²: wrong units
    manifest = tmp_path / "manifest.tsv"
    pd.DataFrame([{"participant_id": "sub-01", "session": "pre", "dwi": dwi_path, "bval": bval_path,
                   "bvec": bvec_path, "mask": atlas_path}]).to_csv(manifest, sep="\t", index=False)
    labels = tmp_path / "labels.tsv"
    labels.write_text("index\tname\n1\tL_BA10\n")
    out, qc = tmp_path / "out" / "roi.tsv", tmp_path / "out" / "qc.tsv"
    code = main(["dti-roi", "--manifest", str(manifest), "--participant", "sub-01", "--session", "pre",
                 "--atlas", str(atlas_path), "--labels", str(labels), "--out", str(out), "--qc", str(qc)])
    assert code == 1
    assert not out.exists() and not qc.exists()


def test_cli_batch_fits_every_session_and_fails_whole(tmp_path, capsys):
    """A batch job fits each participant:session in one process; one bad session fails the
    whole batch and leaves no output (Snakemake re-runs the batch after the fix)."""
    import pandas as pd

    from analysis.__main__ import main

    dwi_path, bval_path, bvec_path, atlas_path = _write_phantom(tmp_path)
    rows = [{"participant_id": "sub-01", "session": session, "dwi": dwi_path, "bval": bval_path,
             "bvec": bvec_path, "mask": atlas_path} for session in ("pre", "post")]
    manifest = tmp_path / "manifest.tsv"
    pd.DataFrame(rows).to_csv(manifest, sep="\t", index=False)
    labels = tmp_path / "labels.tsv"
    labels.write_text("index\tname\n1\tL_BA10\n")
    out, qc = tmp_path / "out" / "batch-001_roi-md.tsv", tmp_path / "out" / "batch-001_qc.tsv"
    arguments = ["dti-roi", "--manifest", str(manifest), "--atlas", str(atlas_path), "--labels", str(labels),
                 "--out", str(out), "--qc", str(qc)]
    assert main(arguments + ["--items", "sub-01:pre", "sub-01:post"]) == 0
    table = pd.read_csv(out, sep="\t")
    assert table[["participant_id", "session"]].drop_duplicates().values.tolist() == [["sub-01", "pre"],
                                                                                     ["sub-01", "post"]]
    single = tmp_path / "single.tsv"
    assert main(["dti-roi", "--manifest", str(manifest), "--participant", "sub-01", "--session", "post",
                 "--atlas", str(atlas_path), "--labels", str(labels), "--out", str(single),
                 "--qc", str(tmp_path / "single_qc.tsv")]) == 0
    pd.testing.assert_frame_equal(table[table["session"] == "post"].reset_index(drop=True), pd.read_csv(single, sep="\t"))

    out.unlink()
    qc.unlink()
    capsys.readouterr()
    assert main(arguments + ["--items", "sub-01:pre", "sub-02:pre"]) == 1  # sub-02 is not in the manifest
    assert not out.exists() and not qc.exists()
    assert "manifest.tsv: no entries for sub-02, session pre; expected exactly one" in capsys.readouterr().err
    pd.DataFrame(rows + rows[:1]).to_csv(manifest, sep="\t", index=False)
    assert main(arguments + ["--items", "sub-01:pre"]) == 1
    assert "2 entries for sub-01, session pre" in capsys.readouterr().err
    pd.DataFrame(rows).drop(columns="bvec").to_csv(manifest, sep="\t", index=False)
    assert main(arguments + ["--items", "sub-01:pre"]) == 1
    assert "manifest.tsv: missing column(s) ['bvec']" in capsys.readouterr().err
    assert not out.exists() and not qc.exists()


def test_batch_cli_writes_what_roi_mean_md_gives_in_pandas_formatting(tmp_path):
    """The batch job (atlas read once, plain rows written with csv) writes the numbers of
    roi_mean_md (itself checked against a direct dipy fit above) exactly as the per-session
    DataFrames were written before (pandas' to_csv)."""
    from analysis.__main__ import main

    dwi, bvals, bvecs, _ = tiny_phantom(md=0.75e-3, snr=30, seed=5)
    labels = np.zeros(dwi.shape[:3], dtype=np.int16)
    labels[:3], labels[3:] = 1, 2
    atlas = nib.Nifti1Image(labels, dwi.affine)
    names = {1: "left", 2: "right"}
    table, qc = roi_mean_md(dwi, bvals, bvecs, atlas, labels=names, return_qc=True)

    dwi_path, atlas_path = tmp_path / "dwi.nii.gz", tmp_path / "atlas.nii.gz"
    nib.save(dwi, dwi_path)
    nib.save(atlas, atlas_path)
    np.savetxt(tmp_path / "dwi.bval", bvals[None, :], fmt="%g")
    np.savetxt(tmp_path / "dwi.bvec", bvecs.T, fmt="%.17g")
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("participant_id\tsession\tdwi\tbval\tbvec\tmask\n"
                        f"sub-01\tpre\t{dwi_path}\t{tmp_path / 'dwi.bval'}\t{tmp_path / 'dwi.bvec'}\t\n")
    label_table = tmp_path / "labels.tsv"
    label_table.write_text("index\tname\n1\tleft\n2\tright\n")
    out, qc_out = tmp_path / "roi.tsv", tmp_path / "qc.tsv"
    assert main(["dti-roi", "--manifest", str(manifest), "--items", "sub-01:pre", "--atlas", str(atlas_path),
                 "--labels", str(label_table), "--out", str(out), "--qc", str(qc_out)]) == 0
    for frame, path, float_format in ((table, out, "%.10g"), (qc, qc_out, "%.6g")):
        frame.insert(0, "session", "pre")
        frame.insert(0, "participant_id", "sub-01")
        assert path.read_text() == frame.to_csv(sep="\t", index=False, float_format=float_format)


def test_label_table_with_a_bad_index_names_file_row_and_column(tmp_path):
    from analysis.imaging.dti import read_atlas_labels

    labels = tmp_path / "labels.tsv"
    labels.write_text("index\tname\n1\tL_BA10\n2.5\tvACC\n")
    with pytest.raises(ImagingInputError, match=r"labels.tsv, row 3, column 'index': expected an integer label, "
                                                r"got '2.5'"):
        read_atlas_labels(labels)
    labels.write_text("label\tname\n1\tL_BA10\n")
    with pytest.raises(ImagingInputError, match=r"missing column\(s\) \['index'\]"):
        read_atlas_labels(labels)
    labels.write_text("index\tname\n1\tL_BA10\n2.0\tvACC\n")
    assert read_atlas_labels(labels) == {1: "L_BA10", 2: "vACC"}
    # an infinite index, after a name that spans two lines: the row is the file's line
    labels.write_text('index\tname\n1\t"L_\nBA10"\ninf\tvACC\n')
    with pytest.raises(ImagingInputError, match=r"labels.tsv, row 4, column 'index': .* got 'inf'"):
        read_atlas_labels(labels)


def test_dti_batch_job_does_not_import_pandas_itself():
    """The per-batch job imports only what it uses (pandas comes, if at all, from dipy)."""
    import subprocess
    import sys

    code = ("import sys, analysis.imaging.dti, analysis.imaging.batch, analysis.imaging; "
            "print('pandas' in sys.modules, 'analysis.imaging.discovery' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=__import__("pathlib").Path(__file__).resolve().parents[2])
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("image_class", [nib.Nifti1Image, nib.Nifti2Image])
def test_gzip_reader_gives_what_nibabel_reads(tmp_path, image_class):
    """The one-call ISA-L read of a .nii.gz: the same voxels, type, affine and header as nib.load,
    for NIfTI-1 and -2, and for a file of two gzip members (as `cat a.gz b.gz` or pigz write)."""
    from analysis.imaging.dti import _load_image

    rng = np.random.default_rng(0)
    data = rng.integers(0, 3000, size=(5, 6, 4, 7)).astype(np.int16)
    affine = np.diag([2.0, 2.0, 2.5, 1.0])
    path = tmp_path / "dwi.nii.gz"
    nib.save(image_class(data, affine), path)
    two_members = tmp_path / "two.nii.gz"
    raw = gzip.decompress(path.read_bytes())
    two_members.write_bytes(gzip.compress(raw[:1000]) + gzip.compress(raw[1000:]))
    for file in (path, two_members):
        image, name = _load_image(file, "DWI")
        reference = nib.load(path)
        assert type(image) is type(reference) is image_class and name == str(file)
        assert np.array_equal(np.asanyarray(image.dataobj), np.asanyarray(reference.dataobj))
        assert image.get_data_dtype() == np.int16 and np.array_equal(image.affine, reference.affine)
        assert image.header.binaryblock == reference.header.binaryblock


def test_gzip_reader_leaves_other_files_to_nibabel(tmp_path):
    """Trailing bytes after the gzip stream (nib.load reads such files) and a .hdr.gz of a NIfTI
    pair (sizeof_hdr 348 too, but no single-file magic) are read by nib.load, as before."""
    from analysis.imaging.dti import _load_image

    data = np.arange(5 * 6 * 4, dtype=np.int16).reshape(5, 6, 4)
    path = tmp_path / "mask.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    trailing = tmp_path / "trailing.nii.gz"
    trailing.write_bytes(path.read_bytes() + b"junk after the stream")
    pair = tmp_path / "pair.img.gz"
    nib.save(nib.Nifti1Pair(data, np.eye(4)), pair)
    image, _ = _load_image(tmp_path / "pair.hdr.gz", "brain mask")
    assert np.array_equal(np.asanyarray(image.dataobj), data)
    try:  # as nib.load does: this nibabel cannot tell the file type of this one
        expected = np.asanyarray(nib.load(trailing).dataobj)
    except Exception as error:
        with pytest.raises(ImagingInputError, match=f"trailing.nii.gz: cannot read the brain mask as NIfTI \\({type(error).__name__}"):
            _load_image(trailing, "brain mask")
    else:
        assert np.array_equal(np.asanyarray(_load_image(trailing, "brain mask")[0].dataobj), expected)


def test_gzip_reader_errors_name_the_file(tmp_path):
    from analysis.imaging.dti import _load_image

    dwi_path, bval_path, bvec_path, atlas_path = _write_phantom(tmp_path)
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(dwi_path.read_bytes()[:-200])  # compressed stream cut short
    with pytest.raises(ImagingInputError, match=r"cut.nii.gz: cannot read the DWI as NIfTI"):
        roi_mean_md(cut, bval_path, bvec_path, atlas_path)
    short = tmp_path / "short.nii.gz"  # a whole gzip stream of a truncated 3D image: read at once, named
    short.write_bytes(gzip.compress(gzip.decompress(atlas_path.read_bytes())[:-50]))
    with pytest.raises(ImagingInputError, match=r"short.nii.gz: cannot read the brain mask as NIfTI"):
        _load_image(short, "brain mask")
    text = tmp_path / "text.nii.gz"
    text.write_bytes(gzip.compress(b"not an image at all"))  # gzip, but not NIfTI: nibabel's own message
    with pytest.raises(ImagingInputError, match=r"text.nii.gz: cannot read the brain mask as NIfTI"):
        _load_image(text, "brain mask")


def test_gzip_reader_keeps_one_copy_of_the_voxels(tmp_path):
    """The decompressed bytes are dropped once the voxels are read (the image's data is an array)."""
    from analysis.imaging.dti import _load_image

    dwi_path, *_ = _write_phantom(tmp_path)
    image, _ = _load_image(dwi_path, "DWI")
    assert isinstance(image.dataobj, np.ndarray)  # not a proxy over the decompressed file


def test_sessions_of_one_protocol_share_one_model_and_others_get_their_own():
    from analysis.imaging import dti

    _, bvals, bvecs, _ = tiny_phantom()
    first = dti._tensor_model(bvals.copy(), bvecs.copy())
    assert dti._tensor_model(bvals.copy(), bvecs.copy()) is first
    rotated = bvecs[:, [1, 0, 2]]
    other = dti._tensor_model(bvals, rotated)
    assert other is not first and np.allclose(other[0].bvecs[~other[0].b0s_mask], rotated[bvals > 50])


def test_cli_called_in_process_does_not_freeze_the_callers_objects(tmp_path):
    """main() as a test (or any in-process caller) calls it leaves the collector alone; only
    `python -m analysis` freezes (freeze=True)."""
    import gc

    from analysis.__main__ import main

    dwi_path, bval_path, bvec_path, atlas_path = _write_phantom(tmp_path)
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("participant_id\tsession\tdwi\tbval\tbvec\tmask\n"
                        f"sub-01\tpre\t{dwi_path}\t{bval_path}\t{bvec_path}\t\n", encoding="utf-8")
    labels = tmp_path / "labels.tsv"
    labels.write_text("index\tname\n1\tvACC\n", encoding="utf-8")
    before = gc.get_freeze_count()
    assert main(["dti-roi", "--manifest", str(manifest), "--items", "sub-01:pre", "--atlas", str(atlas_path),
                 "--labels", str(labels), "--out", str(tmp_path / "t.tsv"), "--qc", str(tmp_path / "q.tsv")]) == 0
    assert gc.get_freeze_count() == before
