"""Data contracts: one place for column names, types, allowed values and descriptions.

The validators in :mod:`analysis.io` check tables against these specs where data enter
the workflow; the data dictionary page of the book is generated from them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Column", "Schema", "LITERATURE", "SCHEMAS", "ROUTES", "DESIGNS", "OUTCOMES",
           "TIMEPOINT_CLASSES", "STATUSES", "NIMH_PARTICIPANTS", "NIMH_PHENOTYPE", "NIMH_SESSIONS"]

ROUTES = ("IV", "intranasal", "oral", "subcutaneous", "intramuscular")
DESIGNS = ("RCT", "open-label", "real-world")
OUTCOMES = ("response", "remission")
TIMEPOINT_CLASSES = ("24h", "end_of_course")
DRUGS = ("ketamine", "esketamine", "arketamine")
STATUSES = ("verified", "secondary", "unverified")
SOURCE_TYPES = ("publisher", "pubmed", "pmc", "registry", "regulator", "repository", "secondary")


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

ARMS = ("ketamine", "saline")
SESSIONS = ("pre", "post")
DTI_ROIS = ("L_BA10", "R_BA10", "L_amygdala", "R_amygdala", "L_hippocampus", "R_hippocampus", "vACC")

PARTICIPANTS = Schema(
    name="participants",
    description=("One row per participant of the trial (BIDS `participants.tsv`). Depression change is "
                 "post - pre, so negative values are improvement."),
    unique=("participant_id",),
    columns=(
        Column("participant_id", "str", "BIDS participant label.", pattern=r"^sub-[A-Za-z0-9]+$"),
        Column("arm", "category", "Randomized arm (reference: saline).", allowed=ARMS),
        Column("age", "float", "Age in years.", minimum=18, maximum=100, unit="years"),
        Column("sex", "category", "Sex as recorded.", allowed=("F", "M")),
        Column("madrs_pre", "float", "MADRS before the infusion.", minimum=0, maximum=60),
        Column("madrs_post", "float", "MADRS 24 h after the infusion.", minimum=0, maximum=60),
        Column("qids_pre", "float", "QIDS-SR16 before the infusion.", minimum=0, maximum=27),
        Column("qids_post", "float", "QIDS-SR16 24 h after the infusion.", minimum=0, maximum=27),
    ),
)

ROI_MD = Schema(
    name="roi_md",
    description="Regional mean diffusivity per participant and session (tidy, long format).",
    unique=("participant_id", "session", "roi"),
    columns=(
        Column("participant_id", "str", "BIDS participant label.", pattern=r"^sub-[A-Za-z0-9]+$"),
        Column("session", "category", "Scan session: before or 24 h after the infusion.", allowed=SESSIONS),
        Column("roi", "category", "Region of interest.", allowed=DTI_ROIS),
        Column("md", "float", "Mean diffusivity in mm²/s (grey matter is about 0.7e-3 to 1.1e-3).",
               minimum=1e-5, maximum=5e-3, unit="mm²/s"),
    ),
    notes=("A value near 1 means the MD is in µm²/ms (or the b-values were in ms/µm²): the loader "
           "stops and says so.",),
)

NIMH_SESSIONS = ("ses-b0", "ses-d2", "ses-d10", "ses-p2", "ses-p10")
NIMH_GROUPS = ("MDD", "BP", "HC")
NIMH_INFUSIONS = ("d", "p", "n/a")

NIMH_PARTICIPANTS = Schema(
    name="nimh_participants",
    description=("Participants of the NIMH ketamine crossover (OpenNeuro ds005917 `participants.tsv`), "
                 "vendored unchanged; `n/a` marks a missing value."),
    unique=("participant_id",),
    columns=(
        Column("participant_id", "str", "BIDS participant label.", pattern=r"^sub-[A-Za-z0-9]+$"),
        Column("age", "float", "Age in years.", minimum=18, maximum=100, unit="years", required=False),
        Column("sex", "category", "Sex assigned at birth.", allowed=("F", "M"), required=False),
        Column("BMI", "float", "Body mass index.", minimum=10, maximum=80, unit="kg/m²", required=False),
        Column("group", "category", "Diagnostic group.", allowed=NIMH_GROUPS),
        Column("infusion_1", "category", "First infusion: d (ketamine), p (placebo) or n/a.", allowed=NIMH_INFUSIONS),
        Column("infusion_2", "category", "Second infusion: d (ketamine), p (placebo) or n/a.", allowed=NIMH_INFUSIONS),
    ),
)

NIMH_PHENOTYPE = Schema(
    name="nimh_phenotype",
    description=("Ratings per participant and session of the NIMH ketamine crossover (ds005917 "
                 "`phenotype/phenotype.tsv`), vendored unchanged."),
    unique=("participant_id", "session_id"),
    columns=(
        Column("participant_id", "str", "BIDS participant label.", pattern=r"^sub-[A-Za-z0-9]+$"),
        Column("session_id", "category", "Session: baseline, or 2-3 / 10-11 days after ketamine (d) or "
               "placebo (p).", allowed=NIMH_SESSIONS),
        Column("MADRS_Total", "float", "MADRS total.", minimum=0, maximum=60, required=False),
        Column("HAMD_Bech", "float", "HAM-D-6 (Bech) total.", minimum=0, maximum=22, required=False),
        Column("HAM17_Total", "float", "HAM-D-17 total.", minimum=0, maximum=52, required=False),
    ),
    notes=("One row of the published file has no session id and no ratings; the loader reports it and "
           "leaves it out.",),
)

SCHEMAS = {"literature": LITERATURE, "participants": PARTICIPANTS, "roi_md": ROI_MD,
           "nimh_participants": NIMH_PARTICIPANTS, "nimh_phenotype": NIMH_PHENOTYPE}
