"""Literature table validation: every bad row stops with file, row and column named."""
import pytest

from analysis.io import DataValidationError, read_literature

from .conftest import LITERATURE_COLUMNS, literature_row, write_literature


def test_valid_table_loads(tmp_path, valid_rows):
    path = write_literature(tmp_path / "studies.csv", valid_rows)
    table = read_literature(path)
    assert len(table) == 4
    assert table["n"].dtype.name == "Int64"
    assert table.loc[0, "proportion"] == pytest.approx(8 / 18)


BAD_CASES = {
    "missing DOI": (dict(doi="", pmid=""), "doi", "missing DOI"),
    "events > n": (dict(events="25", n="20", reported_percent=""), "events", "events (25) > n (20)"),
    "negative count": (dict(events="-3", reported_percent=""), "events", "expected a value >= 0"),
    "non-numeric count": (dict(n="twenty"), "n", "expected a whole number, got 'twenty'"),
    "unknown route": (dict(route="rectal"), "route", "unknown value 'rectal'"),
    "unknown design": (dict(design="case report"), "design", "unknown value 'case report'"),
    "malformed DOI": (dict(doi="doi.org/10.1/x"), "doi", "does not look right"),
    "unverified row": (dict(status="secondary"), "status", "only verified rows are analysed"),
    "percent mismatch": (dict(reported_percent="71"), "reported_percent", "does not match events/n"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_row_is_named(tmp_path, valid_rows, case):
    overrides, column, message = BAD_CASES[case]
    rows = list(valid_rows)
    rows[2] = {**rows[2], **overrides}
    path = write_literature(tmp_path / "studies.csv", rows)
    with pytest.raises(DataValidationError) as caught:
        read_literature(path)
    text = str(caught.value)
    assert str(path) in text
    assert "row 3 (line 4)" in text
    assert f"column '{column}'" in text
    assert message in text


def test_duplicate_study_is_named(tmp_path, valid_rows):
    rows = valid_rows + [dict(valid_rows[1])]
    path = write_literature(tmp_path / "studies.csv", rows)
    with pytest.raises(DataValidationError, match=r"row 5 .*duplicate study.*already appears in row 2"):
        read_literature(path)


def test_missing_column_and_empty_file(tmp_path, valid_rows):
    path = tmp_path / "studies.csv"
    path.write_text(",".join(c for c in LITERATURE_COLUMNS if c != "events") + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="has no data rows|missing column"):
        read_literature(path)
    write_literature(path, valid_rows)
    text = path.read_text(encoding="utf-8").replace(",events,", ",evnts,", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['events'\]"):
        read_literature(path)


def test_all_problems_are_listed(tmp_path, valid_rows):
    rows = list(valid_rows)
    rows[0] = {**rows[0], "route": "rectal"}
    rows[3] = {**rows[3], "n": "-1"}
    path = write_literature(tmp_path / "studies.csv", rows)
    with pytest.raises(DataValidationError) as caught:
        read_literature(path)
    assert len(caught.value.problems) >= 2
    assert "row 1" in str(caught.value) and "row 4" in str(caught.value)


def test_cli_exit_code_and_message(tmp_path, valid_rows, capsys):
    from analysis.__main__ import main

    good = write_literature(tmp_path / "good.csv", valid_rows)
    assert main(["validate-literature", str(good)]) == 0
    bad = write_literature(tmp_path / "bad.csv", [literature_row(events="30", reported_percent="")])
    assert main(["validate-literature", str(bad)]) == 1
    assert "column 'events'" in capsys.readouterr().err


def test_committed_tables_are_valid():
    """The committed literature table validates; the to-verify file has the same columns."""
    from analysis import paths
    import pandas as pd

    table = read_literature(paths.LITERATURE / "studies.csv")
    assert (table["status"] == "verified").all()
    from analysis.schemas import LEADS

    pending = pd.read_csv(paths.LITERATURE / "to_verify.csv", dtype=str)
    assert list(pending.columns) == LEADS.names
