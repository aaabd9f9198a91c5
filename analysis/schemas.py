"""Data contracts: one place for column names, types, allowed values and descriptions.

The validators in :mod:`analysis.io` check tables against these specs where data enter
the workflow; the data dictionary page of the book is generated from them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Column", "Schema", "LITERATURE", "SCHEMAS", "ROUTES", "DESIGNS", "OUTCOMES",
           "TIMEPOINT_CLASSES", "STATUSES"]

ROUTES = ("IV", "intranasal", "oral", "subcutaneous", "intramuscular")
DESIGNS = ("RCT", "open-label", "real-world")
OUTCOMES = ("response", "remission")
TIMEPOINT_CLASSES = ("24h", "end_of_course")
DRUGS = ("ketamine", "esketamine", "arketamine")
STATUSES = ("verified", "secondary", "unverified")
SOURCE_TYPES = ("publisher", "pubmed", "pmc", "registry", "regulator", "secondary")


@dataclass(frozen=True)
class Column:
    """One column of a tidy table."""

    name: str
    kind: str  # "str", "int", "float", "category"
    description: str
    required: bool = True
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""


@dataclass(frozen=True)
class Schema:
    """A table contract: ordered columns and the keys that must be unique."""

    name: str
    description: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


LITERATURE = Schema(
    name="literature",
    description=("Curated published studies of ketamine or esketamine in treatment-resistant "
                 "depression: one row per study arm and outcome, each number read from a checked "
                 "source and stored with the quote it was read from."),
    unique=("study_key", "arm", "outcome"),
    columns=(
        Column("study_key", "str", "Short unique key of the study (first author + year + tag); "
               "the response and remission rows of one arm share it.", pattern=r"^[a-z][a-z0-9_]*$"),
        Column("first_author", "str", "First author's family name."),
        Column("year", "int", "Year of publication.", minimum=1990, maximum=2100),
        Column("title_short", "str", "Short title or trial acronym.", required=False),
        Column("journal", "str", "Journal.", required=False),
        Column("design", "category", "Study design.", allowed=DESIGNS),
        Column("route", "category", "Route of administration.", allowed=ROUTES),
        Column("drug", "category", "Racemic ketamine or an enantiomer.", allowed=DRUGS),
        Column("dose", "str", "Dose and schedule as reported."),
        Column("arm", "str", "Label of the active arm this row describes."),
        Column("outcome", "category", "Which proportion the row gives.", allowed=OUTCOMES),
        Column("timepoint", "str", "Time of assessment as reported."),
        Column("timepoint_class", "category", "24h: 24-72 h after a single first dose; "
               "end_of_course: after repeated dosing.", allowed=TIMEPOINT_CLASSES),
        Column("scale", "str", "Rating scale (MADRS, HDRS-17, QIDS-SR16, PHQ-9, ...)."),
        Column("definition", "str", "Definition of response or remission on that scale."),
        Column("n", "int", "Participants analysed for this outcome in the active arm.", minimum=1),
        Column("events", "int", "Responders or remitters among n.", minimum=0),
        Column("reported_percent", "float", "Percentage as printed in the source, if printed.",
               required=False, minimum=0, maximum=100, unit="%"),
        Column("count_source", "str", "'reported' when the source prints the count; otherwise "
               "'derived: ...' saying how the count was computed from a percentage.",
               pattern=r"^(reported|derived: .+)$"),
        Column("doi", "str", "Digital Object Identifier of the study's publication "
               "(required unless a PMID is given).", required=False, pattern=r"^10\.\d{4,9}/\S+$"),
        Column("pmid", "str", "PubMed identifier (required when there is no DOI).", required=False,
               pattern=r"^\d{1,9}$"),
        Column("pmcid", "str", "PubMed Central identifier.", required=False, pattern=r"^PMC\d+$"),
        Column("source_url", "str", "Page the number was read on.", pattern=r"^https?://\S+$"),
        Column("source_type", "category", "Kind of page the number was read on.", allowed=SOURCE_TYPES),
        Column("quote", "str", "The sentence or table row the numbers were read from, verbatim."),
        Column("status", "category", "Verification status; only 'verified' rows are analysed.",
               allowed=STATUSES),
        Column("notes", "str", "Caveats (population, analysis set, overlaps).", required=False),
    ),
    notes=("Rows whose numbers could not be checked against a primary source live in "
           "`data/literature/to_verify.csv` (same columns) and are never analysed.",),
)

SCHEMAS = {"literature": LITERATURE}
