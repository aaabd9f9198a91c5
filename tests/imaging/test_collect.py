"""analysis.imaging.collect: the collect steps of the imaging stages."""
import pytest

from analysis.imaging.collect import collect_dti, collect_fmri
from analysis.io import DataValidationError, read_roi_md

HEADER = "participant_id\tsession\troi\tmd\tn_voxels\n"
QC_HEADER = "participant_id\tsession\troi\tn_voxels\tfraction_nonpositive_eigenvalues\tfit_residual\n"


def _batch(path, rows, qc=True):
    path.write_text(HEADER + "".join(f"{p}\t{s}\t{roi}\t{md}\t{n}\n" for p, s, roi, md, n in rows), encoding="utf-8")
    qc_path = path.with_name(path.name.replace("roi-md", "qc"))
    qc_path.write_text(QC_HEADER + "".join(f"{p}\t{s}\t{roi}\t{n}\t0\t0.01\n" for p, s, roi, _, n in rows),
                       encoding="utf-8")
    return path, qc_path


def test_collect_dti_combines_sorts_and_validates(tmp_path):
    first = _batch(tmp_path / "batch-001_roi-md.tsv", [("sub-002", "pre", "vACC", 0.00081, 70),
                                                        ("sub-002", "post", "L_BA10", 0.000799, 60)])
    second = _batch(tmp_path / "batch-002_roi-md.tsv", [("sub-001", "pre", "vACC", 0.0008, 70)])
    out, qc_out = tmp_path / "out" / "roi_md.tsv", tmp_path / "out" / "qc.tsv"
    collect_dti([first[0], second[0]], [first[1], second[1]], out, qc_out)
    table = read_roi_md(out)
    assert list(table["participant_id"]) == ["sub-001", "sub-002", "sub-002"]
    assert list(table["session"]) == ["pre", "post", "pre"]
    assert out.read_text(encoding="utf-8").splitlines()[1] == "sub-001\tpre\tvACC\t0.0008\t70"
    assert qc_out.read_text(encoding="utf-8").count("\n") == 4
    assert not list(out.parent.glob(".*"))  # no temporary file left


def test_collect_dti_names_the_batch_file_row_and_column_and_keeps_the_old_table(tmp_path):
    good = _batch(tmp_path / "batch-001_roi-md.tsv", [("sub-001", "pre", "vACC", 0.0008, 70)])
    bad = _batch(tmp_path / "batch-002_roi-md.tsv", [("sub-002", "pre", "vACC", 0.0008, 70),
                                                      ("sub-002", "post", "vACC", 0.8, 70)])  # µm²/ms
    out, qc_out = tmp_path / "roi_md.tsv", tmp_path / "qc.tsv"
    out.write_text("last good table\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"batch-002_roi-md\.tsv, row 2 \(line 3\).*column 'md'.*mm²/s") as error:
        collect_dti([good[0], bad[0]], [good[1], bad[1]], out, qc_out)
    assert "batch-001" not in str(error.value)
    assert out.read_text(encoding="utf-8") == "last good table\n" and not qc_out.exists()


def test_collect_dti_rejects_a_session_in_two_batches(tmp_path):
    row = ("sub-001", "pre", "vACC", 0.0008, 70)
    first, second = _batch(tmp_path / "batch-001_roi-md.tsv", [row]), _batch(tmp_path / "batch-002_roi-md.tsv", [row])
    with pytest.raises(DataValidationError):
        collect_dti([first[0], second[0]], [first[1], second[1]], tmp_path / "roi_md.tsv", tmp_path / "qc.tsv")
    assert not (tmp_path / "roi_md.tsv").exists() and not list(tmp_path.glob(".roi_md*"))


def test_collect_fmri_sorts_by_participant_and_keeps_an_unchanged_file(tmp_path):
    for name, participant in (("b2.tsv", "sub-002"), ("b1.tsv", "sub-001")):
        (tmp_path / name).write_text(f"participant_id\tn_volumes\n{participant}\t200\n", encoding="utf-8")
    out = tmp_path / "qc.tsv"
    collect_fmri([tmp_path / "b2.tsv", tmp_path / "b1.tsv"], out)
    assert out.read_text(encoding="utf-8") == "participant_id\tn_volumes\nsub-001\t200\nsub-002\t200\n"
    before = out.stat().st_mtime_ns
    collect_fmri([tmp_path / "b1.tsv", tmp_path / "b2.tsv"], out)
    assert out.stat().st_mtime_ns == before
