"""Reading and validating input tables.

Every loader checks its table against :mod:`analysis.schemas` and raises
:class:`DataValidationError` naming the file, the row, the column and what was expected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .schemas import (ARM_ROLES, CONTROLS, DRUGS, LEADS, LITERATURE, NIMH_PARTICIPANTS, NIMH_PHENOTYPE, PARTICIPANTS,
                      PUBLISHED_META, RISK_OF_BIAS, ROB_DOMAINS, ROI_MD, SEARCH_LOG, Schema)

__all__ = ["DataValidationError", "ValidationProblem", "read_literature", "read_participants", "read_roi_md",
           "validate_frame", "validate_table", "verify_checksums", "read_nimh_crossover", "read_leads",
           "read_risk_of_bias", "read_published_meta_analyses", "read_search_log"]


@dataclass(frozen=True)
class ValidationProblem:
    """One bad cell (or row): where it is and what was expected."""

    file: str
    row: int | None  # 1-based data row (the header is not counted); None for the whole file
    column: str | None
    message: str
    key: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row} (line {self.row + 1})"
            if self.key:
                where += f" [{self.key}]"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class DataValidationError(ValueError):
    """Raised when an input table breaks its contract; lists every problem found."""

    def __init__(self, problems: list[ValidationProblem]):
        self.problems = list(problems)
        shown = "\n".join(f"  - {problem}" for problem in self.problems[:25])
        more = f"\n  ... and {len(self.problems) - 25} more" if len(self.problems) > 25 else ""
        super().__init__(f"{len(self.problems)} problem(s) in the input data:\n{shown}{more}")


def _lower_first(text: str) -> str:
    """A description inside a sentence: its first letter lowered, unless it starts an acronym, and
    no full stop at its end.

    >>> _lower_first("Mean diffusivity."), _lower_first("BIDS participant label.")
    ('mean diffusivity', 'BIDS participant label')
    """
    text = text.rstrip(".")
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == ""


def _check_int(text: str) -> int | None:
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?\d+\.0*", text):
        return int(float(text))
    return None


def validate_table(frame: pd.DataFrame, schema: Schema, *, file: str) -> tuple[pd.DataFrame, list[ValidationProblem]]:
    """Check a table read as strings against ``schema``; return the typed table and problems."""
    problems: list[ValidationProblem] = []
    missing = [name for name in schema.names if name not in frame.columns]
    if missing:
        problems.append(ValidationProblem(file, None, None,
                                          f"missing column(s) {missing}; expected columns {schema.names}"))
        return frame, problems
    unknown = [name for name in frame.columns if name not in schema.names]
    if unknown:
        problems.append(ValidationProblem(file, None, None,
                                          f"unexpected column(s) {unknown}; expected columns {schema.names}"))
    typed = {}
    key_column = schema.unique[0] if schema.unique else None
    for column in schema.columns:
        values = []
        for index, raw in enumerate(frame[column.name].tolist()):
            row = index + 1
            key = "" if key_column is None else str(frame[key_column].iloc[index])
            where = dict(file=file, row=row, column=column.name, key=key)
            if _is_blank(raw):
                if column.required:
                    problems.append(ValidationProblem(message=f"is empty; expected {_lower_first(column.description)}",
                                                      **where))
                values.append(None)
                continue
            text = str(raw).strip()
            value: object = text
            if column.kind == "int":
                value = _check_int(text)
                if value is None:
                    problems.append(ValidationProblem(message=f"expected a whole number, got {text!r}", **where))
                    values.append(None)
                    continue
            elif column.kind == "float":
                try:
                    value = float(text)
                except ValueError:
                    problems.append(ValidationProblem(message=f"expected a number, got {text!r}", **where))
                    values.append(None)
                    continue
            if column.kind in ("int", "float"):
                if column.minimum is not None and value < column.minimum:
                    problems.append(ValidationProblem(
                        message=f"expected a value >= {column.minimum:g}, got {text}", **where))
                if column.maximum is not None and value > column.maximum:
                    problems.append(ValidationProblem(
                        message=f"expected a value <= {column.maximum:g}, got {text}", **where))
            if column.allowed and text not in column.allowed:
                problems.append(ValidationProblem(
                    message=f"unknown value {text!r}; expected one of {list(column.allowed)}", **where))
            if column.pattern and not re.fullmatch(column.pattern, text):
                problems.append(ValidationProblem(
                    message=f"{text!r} does not look right; expected {_lower_first(column.description)} "
                            f"(pattern {column.pattern})", **where))
            values.append(value)
        typed[column.name] = values
    result = pd.DataFrame(typed, columns=schema.names)
    for column in schema.columns:
        if column.kind == "int":
            result[column.name] = result[column.name].astype("Int64")
        elif column.kind == "float":
            result[column.name] = result[column.name].astype("Float64")
    if schema.unique:
        keys = frame[list(schema.unique)].astype(str).apply(lambda r: tuple(v.strip() for v in r), axis=1)
        first_seen: dict[tuple, int] = {}
        for index, key in enumerate(keys):
            if key in first_seen:
                problems.append(ValidationProblem(
                    file, index + 1, schema.unique[0],
                    f"duplicate {'study' if schema.name == 'literature' else 'row'}: "
                    f"{dict(zip(schema.unique, key))} already appears in row "
                    f"{first_seen[key]}; expected one row per {' + '.join(schema.unique)}",
                    key=key[0]))
            else:
                first_seen[key] = index + 1
    return result, problems


def _literature_rules(table: pd.DataFrame, file: str) -> list[ValidationProblem]:
    problems = []
    for index, record in table.iterrows():
        row, key = index + 1, str(record["study_key"])
        n, events = record["n"], record["events"]
        if pd.isna(record["doi"]) and pd.isna(record["pmid"]) and pd.isna(record.get("registry_id")):
            problems.append(ValidationProblem(file, row, "doi",
                                              "missing DOI; expected a DOI (10.xxxx/...) or, failing that, a PMID "
                                              "or a ClinicalTrials.gov identifier (registry_id)", key))
        if pd.notna(n) and pd.notna(events) and events > n:
            problems.append(ValidationProblem(file, row, "events",
                                              f"events ({events}) > n ({n}); expected 0 <= events <= n", key))
        percent = record["reported_percent"]
        if pd.notna(percent) and pd.notna(n) and pd.notna(events) and n > 0:
            observed = 100.0 * events / n
            # a printed percentage has at most one decimal here; allow rounding of the print
            if abs(observed - percent) > 0.55:
                problems.append(ValidationProblem(
                    file, row, "reported_percent",
                    f"{percent}% does not match events/n = {events}/{n} = {observed:.1f}%; "
                    "expected the printed percentage of this count", key))
    return problems


def _trial_rules(table: pd.DataFrame, file: str) -> list[ValidationProblem]:
    """Arms of one trial share its design and timepoint class; experimental arms name a ketamine
    drug and control arms a comparator."""
    problems = []
    for column in ("design", "timepoint_class"):
        if column not in table:
            continue
        for trial, rows in table.groupby("trial_id", sort=False):
            values = rows[column].dropna().unique()
            if len(values) > 1:
                index = rows.index[rows[column] != rows[column].iloc[0]][0]
                problems.append(ValidationProblem(
                    file, int(index) + 1, column,
                    f"trial {trial!r} has arms with conflicting {column} ({', '.join(map(str, values))}); "
                    f"expected one {column} per trial (split the trial's rows, or give them another trial_id)",
                    str(table.loc[index, "study_key"])))
    for index, record in table.iterrows():
        role, drug = record.get("arm_role"), record.get("drug")
        if pd.isna(role) or pd.isna(drug):
            continue
        expected = DRUGS if role == "experimental" else CONTROLS
        if drug not in expected:
            problems.append(ValidationProblem(
                file, int(index) + 1, "drug",
                f"{drug!r} in a {role} arm; expected one of {list(expected)}", str(record["study_key"])))
    return problems


def _read_csv(path: str | Path, schema: Schema) -> tuple[pd.DataFrame, list[ValidationProblem], str]:
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise DataValidationError([ValidationProblem(file, None, None, "file not found")])
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataValidationError([ValidationProblem(file, None, None, f"not a readable UTF-8 CSV: {error}")]) from error
    if raw.empty:
        raise DataValidationError([ValidationProblem(file, None, None, "has no data rows")])
    table, problems = validate_table(raw, schema, file=file)
    return table, problems, file


def read_leads(path: str | Path) -> pd.DataFrame:
    """Read and validate the candidate rows awaiting verification (``to_verify.csv``, schema
    :data:`analysis.schemas.LEADS`); counts may be missing, but where given they must be consistent."""
    table, problems, file = _read_csv(path, LEADS)
    if not problems:
        problems += [problem for problem in _literature_rules(table, file) if problem.column != "doi"]
        problems += _trial_rules(table, file)
    if problems:
        raise DataValidationError(problems)
    return table


def read_risk_of_bias(path: str | Path) -> pd.DataFrame:
    """Read and validate the risk-of-bias judgements (schema :data:`analysis.schemas.RISK_OF_BIAS`):
    each domain must belong to its tool, and every trial needs an overall judgement."""
    table, problems, file = _read_csv(path, RISK_OF_BIAS)
    if not problems:
        for index, record in table.iterrows():
            allowed = ROB_DOMAINS[record["tool"]]
            if record["domain"] not in allowed:
                problems.append(ValidationProblem(file, int(index) + 1, "domain",
                                                  f"{record['domain']!r} is not a domain of {record['tool']}; expected "
                                                  f"one of {list(allowed)}", str(record["trial_id"])))
        for trial, rows in table.groupby("trial_id", sort=False):
            if "overall" not in set(rows["domain"]):
                problems.append(ValidationProblem(file, int(rows.index[0]) + 1, "domain",
                                                  "no 'overall' judgement for this trial", str(trial)))
    if problems:
        raise DataValidationError(problems)
    return table


def read_published_meta_analyses(path: str | Path) -> pd.DataFrame:
    """Read and validate the published meta-analyses' pooled estimates (schema
    :data:`analysis.schemas.PUBLISHED_META`)."""
    table, problems, file = _read_csv(path, PUBLISHED_META)
    if not problems:
        for index, record in table.iterrows():
            if record["measure"] == "proportion" and record["estimate"] > 1:
                problems.append(ValidationProblem(file, int(index) + 1, "estimate",
                                                  f"{record['estimate']} is not a proportion; expected a fraction "
                                                  "between 0 and 1 (e.g. 0.52 for 52%)", str(record["key"])))
    if problems:
        raise DataValidationError(problems)
    return table


def read_search_log(path: str | Path) -> pd.DataFrame:
    """Read and validate the log of searches (schema :data:`analysis.schemas.SEARCH_LOG`)."""
    table, problems, _ = _read_csv(path, SEARCH_LOG)
    if problems:
        raise DataValidationError(problems)
    return table


def read_literature(path: str | Path, *, require_verified: bool = True) -> pd.DataFrame:
    """Read and validate the curated literature table.

    Parameters
    ----------
    path : str or Path
        CSV with the columns of :data:`analysis.schemas.LITERATURE`.
    require_verified : bool
        If True (the analysed table), every row must have ``status == "verified"``.

    Returns
    -------
    DataFrame
        The table with typed columns (``n``, ``events``, ``year`` as integers) plus
        ``proportion = events / n``.

    Raises
    ------
    DataValidationError
        Naming file, row and column of every problem (missing DOI, events > n,
        negative or non-numeric counts, duplicate study, unknown route, ...).
    """
    table, problems, file = _read_csv(path, LITERATURE)
    if not problems:
        problems += _literature_rules(table, file)
        problems += _trial_rules(table, file)
        if require_verified:
            for index, status in enumerate(table["status"]):
                if status != "verified":
                    problems.append(ValidationProblem(
                        file, index + 1, "status",
                        f"{status!r}: only verified rows are analysed; move this row to to_verify.csv",
                        str(table["study_key"].iloc[index])))
    if problems:
        raise DataValidationError(problems)
    table["proportion"] = table["events"].astype(float) / table["n"].astype(float)
    return table


def _read_tsv(path: str | Path, schema: Schema, *, extra_ok: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise DataValidationError([ValidationProblem(file, None, None, "file not found")])
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataValidationError([ValidationProblem(file, None, None, f"not a readable UTF-8 TSV: {error}")]) from error
    if raw.empty:
        raise DataValidationError([ValidationProblem(file, None, None, "has no data rows")])
    checked = raw[[column for column in raw.columns if column in schema.names]] if extra_ok else raw
    table, problems = validate_table(checked, schema, file=file)
    return raw, table, problems


def read_participants(path: str | Path) -> pd.DataFrame:
    """Read and validate a trial ``participants.tsv`` (columns of
    :data:`analysis.schemas.PARTICIPANTS`; extra columns are kept as text)."""
    raw, table, problems = _read_tsv(path, PARTICIPANTS)
    if problems:
        raise DataValidationError(problems)
    for column in raw.columns:
        if column not in table.columns:
            table[column] = raw[column]
    for column in ("age", "madrs_pre", "madrs_post", "qids_pre", "qids_post"):
        table[column] = table[column].astype(float)
    table["arm"] = table["arm"].astype(str)
    return table


def _md_unit_hints(problems: list[ValidationProblem]) -> list[ValidationProblem]:
    """Out-of-range MD gets a message about units (mm²/s expected)."""
    hinted = []
    for problem in problems:
        if problem.column == "md" and ("expected a value <=" in problem.message
                                       or "expected a value >=" in problem.message):
            problem = ValidationProblem(problem.file, problem.row, "md",
                                        problem.message + "; MD should be in mm²/s (about 0.0008 in grey matter): "
                                        "a value near 1 means µm²/ms or b-values in ms/µm², near 800 means "
                                        "10⁻⁶ mm²/s", problem.key)
        hinted.append(problem)
    return hinted


def validate_frame(frame: pd.DataFrame, schema: Schema, *, name: str) -> pd.DataFrame:
    """Check an in-memory table against ``schema`` as if it had been read from a file called
    ``name``; raise :class:`DataValidationError` naming row, column and value of every problem."""
    missing = [column for column in schema.names if column not in frame.columns]
    if missing:
        raise DataValidationError([ValidationProblem(name, None, None, f"missing column(s) {missing}; "
                                                                       f"expected columns {schema.names}")])
    as_text = frame[schema.names].astype(object).where(frame[schema.names].notna(), "")
    as_text = as_text.map(lambda value: value if isinstance(value, str) else repr(value) if isinstance(value, float)
                          else str(value))
    _, problems = validate_table(as_text.reset_index(drop=True), schema, file=name)
    problems = _md_unit_hints(problems)
    if problems:
        raise DataValidationError(problems)
    return frame


def read_roi_md(path: str | Path) -> pd.DataFrame:
    """Read and validate a tidy ``roi_md.tsv``. MD in other units gets its own message."""
    raw, table, problems = _read_tsv(path, ROI_MD)
    problems = _md_unit_hints(problems)
    if problems:
        raise DataValidationError(problems)
    table["md"] = table["md"].astype(float)
    return table


def verify_checksums(folder: str | Path, sums_file: str = "SHA256SUMS") -> None:
    """Check every file listed in ``<folder>/SHA256SUMS`` (``sha256  name`` lines).

    Raises
    ------
    DataValidationError
        Naming each file whose checksum changed or that is missing.
    """
    import hashlib

    folder = Path(folder)
    listing = folder / sums_file
    if not listing.exists():
        raise DataValidationError([ValidationProblem(str(listing), None, None, "checksum list not found")])
    problems = []
    for line_number, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        expected, name = line.split(maxsplit=1)
        path = folder / name.strip()
        if not path.exists():
            problems.append(ValidationProblem(str(path), None, None, f"listed in {listing} (line {line_number}) "
                                                                      "but missing"))
            continue
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != expected:
            problems.append(ValidationProblem(str(path), None, None, f"SHA-256 {actual} differs from {expected} "
                                                                      f"in {listing}: the vendored file changed"))
    if problems:
        raise DataValidationError(problems)


def read_nimh_crossover(folder: str | Path) -> dict:
    """Read and validate the vendored ds005917 tables after checking their checksums.

    Returns
    -------
    dict
        ``participants`` and ``phenotype`` (typed, ``n/a`` as missing), ``images`` (the image
        manifest), ``description`` (dataset_description.json) and ``dropped`` (phenotype rows left
        out, with the reason: a row without a session id).

    Raises
    ------
    DataValidationError
        For a changed file, a session id outside the documented levels, MADRS outside 0-60, a
        duplicated participant/session row, an infusion code other than d, p or n/a: each named by
        file, row and column.
    """
    import json

    folder = Path(folder)
    verify_checksums(folder)
    participants_file = folder / "participants.tsv"
    participants_raw = pd.read_csv(participants_file, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8")
    for column in ("age", "sex", "BMI"):  # n/a marks a missing value; in the infusion columns it is a level
        if column in participants_raw:
            participants_raw[column] = participants_raw[column].replace("n/a", "")
    participants, problems = validate_table(participants_raw, NIMH_PARTICIPANTS, file=str(participants_file))
    phenotype_file = folder / "phenotype" / "phenotype.tsv"
    raw = pd.read_csv(phenotype_file, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8")
    no_session = raw["session_id"].str.strip().isin(["", "n/a"])
    dropped = [{"file": str(phenotype_file), "row": int(index) + 1, "participant_id": raw.loc[index, "participant_id"],
                "reason": "no session id (and no ratings)"} for index in raw.index[no_session]]
    kept = raw[~no_session].replace("n/a", "")
    phenotype, phenotype_problems = validate_table(kept.reset_index(drop=True), NIMH_PHENOTYPE, file=str(phenotype_file))
    # rows are numbered as in the file
    offsets = list(raw.index[~no_session] + 1)
    phenotype_problems = [ValidationProblem(p.file, offsets[p.row - 1] if p.row else None, p.column, p.message, p.key)
                          for p in phenotype_problems]
    problems += phenotype_problems
    if problems:
        raise DataValidationError(problems)
    for column in ("MADRS_Total", "HAMD_Bech", "HAM17_Total"):
        phenotype[column] = phenotype[column].astype(float)
    participants["age"] = participants["age"].astype(float)
    images = pd.read_csv(folder / "images.tsv", sep="\t")
    description = json.loads((folder / "dataset_description.json").read_text(encoding="utf-8"))
    return {"participants": participants, "phenotype": phenotype, "images": images, "description": description,
            "dropped": dropped}
