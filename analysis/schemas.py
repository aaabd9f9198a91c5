"""Data contracts: one place for column names, types, allowed values and descriptions.

The validators in :mod:`analysis.io` check tables against these specs where data enter
the workflow; the data dictionary page of the book is generated from them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Column", "Schema", "LITERATURE", "LEADS", "RISK_OF_BIAS", "PUBLISHED_META", "SEARCH_LOG", "SCHEMAS",
           "CONTROLS", "ARM_ROLES", "ROB_DOMAINS", "ROUTES", "DESIGNS", "OUTCOMES",
           "TIMEPOINT_CLASSES", "STATUSES", "NIMH_PARTICIPANTS", "NIMH_PHENOTYPE", "NIMH_SESSIONS"]

ROUTES = ("IV", "intranasal", "oral", "subcutaneous", "intramuscular")
DESIGNS = ("RCT", "open-label", "real-world")
OUTCOMES = ("response", "remission")
TIMEPOINT_CLASSES = ("single_dose_24h", "single_dose_2_7d", "end_of_course")
DRUGS = ("ketamine", "esketamine", "arketamine")
CONTROLS = ("saline", "midazolam", "placebo", "ECT")
ARM_ROLES = ("experimental", "control")
POPULATIONS = ("TRD", "clinic sample", "MDD, not restricted to TRD", "other")
NUMBERS_READ = ("primary", "secondary", "not_read")
ROB_JUDGEMENTS = ("low", "some concerns", "high")
ROB_TOOLS = ("RoB 2", "single-arm checklist")
ROB_DOMAINS = {"RoB 2": ("D1 randomization", "D2 deviations from intended interventions", "D3 missing outcome data",
                         "D4 measurement of the outcome", "D5 selection of the reported result", "overall"),
               "single-arm checklist": ("C1 consecutive or complete sample", "C2 outcome measured with a validated "
                                        "scale by the same rule for everyone", "C3 missing outcome data under 20% or "
                                        "handled", "C4 outcome prespecified", "C5 independence from the manufacturer "
                                        "or clinic selling the treatment", "overall")}
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
        Column("study_key", "str", "Short unique key of the study arm (first author + year + tag); "
               "the response and remission rows of one arm share it.", pattern=r"^[a-z][a-z0-9_]*$"),
        Column("trial_id", "str", "The trial the arm belongs to; the arms of one trial (doses, control) "
               "share it, and the review's models nest arms within trials.", pattern=r"^[a-z][a-z0-9_]*$"),
        Column("first_author", "str", "First author's family name."),
        Column("year", "int", "Year of publication.", minimum=1990, maximum=2100),
        Column("title_short", "str", "Short title or trial acronym.", required=False),
        Column("journal", "str", "Journal.", required=False),
        Column("design", "category", "Study design.", allowed=DESIGNS),
        Column("population", "category", "TRD: at least one failed antidepressant trial in the episode; clinic "
               "sample: patients treated for depression at ketamine clinics; MDD, not restricted to TRD; other.",
               allowed=POPULATIONS),
        Column("route", "category", "Route of administration.", allowed=ROUTES),
        Column("drug", "category", "Racemic ketamine or an enantiomer (experimental arms), or the "
               "comparator (control arms).", allowed=DRUGS + CONTROLS),
        Column("dose", "str", "Dose and schedule as reported."),
        Column("arm", "str", "Label of the arm this row describes."),
        Column("arm_role", "category", "experimental (ketamine or esketamine) or control (placebo, saline, "
               "midazolam, ECT); single-arm rates pool experimental arms only.", allowed=ARM_ROLES),
        Column("outcome", "category", "Which proportion the row gives.", allowed=OUTCOMES),
        Column("timepoint", "str", "Time of assessment as reported."),
        Column("timepoint_class", "category", "single_dose_24h: 24 h or less after one dose; "
               "single_dose_2_7d: 2-7 days after one dose, with no further dose; end_of_course: at the end "
               "of a repeated course.", allowed=TIMEPOINT_CLASSES),
        Column("scale", "str", "Rating scale (MADRS, HDRS-17, QIDS-SR16, PHQ-9, ...)."),
        Column("definition", "str", "Definition of response or remission on that scale."),
        Column("n", "int", "Participants analysed for this outcome in the arm.", minimum=1),
        Column("events", "int", "Responders or remitters among n.", minimum=0),
        Column("reported_percent", "float", "Percentage as printed in the source, if printed.",
               required=False, minimum=0, maximum=100, unit="%"),
        Column("count_source", "str", "'reported' when the source prints the count; otherwise "
               "'derived: ...' saying how the count was computed from a percentage.",
               pattern=r"^(reported|derived: .+)$"),
        Column("doi", "str", "Digital Object Identifier of the study's publication "
               "(one of DOI, PMID or registry identifier is required).", required=False, pattern=r"^10\.\d{4,9}/\S+$"),
        Column("pmid", "str", "PubMed identifier (required when there is no DOI).", required=False,
               pattern=r"^\d{1,9}$"),
        Column("pmcid", "str", "PubMed Central identifier.", required=False, pattern=r"^PMC\d+$"),
        Column("registry_id", "str", "ClinicalTrials.gov identifier, for results read in the registry.",
               required=False, pattern=r"^NCT\d{8}$"),
        Column("source_url", "str", "Page the number was read on.", pattern=r"^https?://\S+$"),
        Column("source_type", "category", "Kind of page the number was read on.", allowed=SOURCE_TYPES),
        Column("quote", "str", "The sentence or table row the numbers were read from, verbatim."),
        Column("status", "category", "Verification status; only 'verified' rows are analysed.",
               allowed=STATUSES),
        Column("notes", "str", "Caveats (population, analysis set, overlaps).", required=False),
    ),
    notes=("Rows whose numbers could not be checked against a primary source live in "
           "`data/literature/to_verify.csv` (the same columns plus `numbers_read`); they enter only the "
           "sensitivity analysis of unverified leads, and only when their numbers were read somewhere.",
           "All rows of one trial share its design and timepoint class.",),
)

LEADS = Schema(
    name="leads",
    description=("Candidate rows awaiting verification (`data/literature/to_verify.csv`): the literature "
                 "columns, where counts may be missing, plus where the numbers were read."),
    unique=("study_key", "arm", "outcome"),
    columns=tuple(
        Column(c.name, c.kind, c.description, required=False if c.name in
               ("n", "events", "count_source", "source_url", "source_type", "quote", "dose", "definition", "scale",
                "population",
                "timepoint", "design", "route", "arm", "drug", "journal", "title_short", "first_author", "year")
               else c.required, allowed=c.allowed, pattern=c.pattern, minimum=c.minimum, maximum=c.maximum,
               unit=c.unit)
        for c in LITERATURE.columns) + (
        Column("numbers_read", "category", "primary: n and events read in the primary publication or "
               "registry; secondary: read only in another paper or a news or regulatory summary; "
               "not_read: missing or reconstructed.", allowed=NUMBERS_READ),),
)

RISK_OF_BIAS = Schema(
    name="risk_of_bias",
    description=("Risk-of-bias judgements per included trial: RoB 2 domains for randomized trials, a stated "
                 "five-item checklist for single-arm and observational studies, each with its reason."),
    unique=("trial_id", "domain"),
    columns=(
        Column("trial_id", "str", "Trial, as in the literature table.", pattern=r"^[a-z][a-z0-9_]*$"),
        Column("tool", "category", "RoB 2 or the single-arm checklist.", allowed=ROB_TOOLS),
        Column("domain", "str", "Domain or checklist item, or overall."),
        Column("judgement", "category", "low, some concerns or high.", allowed=ROB_JUDGEMENTS),
        Column("reason", "str", "What was read that supports the judgement."),
        Column("source", "str", "Where it was read (URL, PMCID or DOI)."),
    ),
)

PUBLISHED_META = Schema(
    name="published_meta_analyses",
    description="Pooled estimates of published meta-analyses, each with the sentence it was read from.",
    unique=("key",),
    columns=(
        Column("key", "str", "Row key.", pattern=r"^[a-z][a-z0-9_]*$"),
        Column("first_author", "str", "First author's family name."),
        Column("year", "int", "Year of publication.", minimum=1990, maximum=2100),
        Column("journal", "str", "Journal.", required=False),
        Column("doi", "str", "DOI.", required=False, pattern=r"^10\.\d{4,9}/\S+$"),
        Column("pmid", "str", "PubMed identifier.", required=False, pattern=r"^\d{1,9}$"),
        Column("pmcid", "str", "PubMed Central identifier.", required=False, pattern=r"^PMC\d+$"),
        Column("population", "str", "Population and comparison pooled.", required=False),
        Column("k_studies", "int", "Studies pooled.", required=False, minimum=1),
        Column("n_participants", "int", "Participants pooled.", required=False, minimum=1),
        Column("drug", "str", "Drug(s) pooled.", required=False),
        Column("route", "str", "Route(s) pooled.", required=False),
        Column("timepoint_class", "category", "Timepoint class of the estimate (or mixed).",
               allowed=TIMEPOINT_CLASSES + ("mixed",)),
        Column("outcome", "category", "Response or remission.", allowed=OUTCOMES),
        Column("measure", "category", "What the estimate is.", allowed=("proportion", "risk_ratio", "odds_ratio")),
        Column("estimate", "float", "Pooled estimate (proportions as fractions).", minimum=0),
        Column("ci_low", "float", "Lower 95% limit.", required=False, minimum=0),
        Column("ci_high", "float", "Upper 95% limit.", required=False, minimum=0),
        Column("comparator_estimate", "float", "The control arms' pooled proportion, when given.", required=False,
               minimum=0, maximum=1),
        Column("source_url", "str", "Page read.", pattern=r"^https?://\S+$"),
        Column("source_type", "category", "Kind of page.", allowed=SOURCE_TYPES),
        Column("quote", "str", "Sentence or table row read, verbatim."),
        Column("status", "category", "verified (primary page) or secondary.", allowed=("verified", "secondary")),
        Column("notes", "str", "Caveats.", required=False),
    ),
)

SEARCH_LOG = Schema(
    name="search_log",
    description="How the candidate studies were found: one row per search.",
    columns=(
        Column("source", "str", "Where the search ran (database, corpus, registry)."),
        Column("query", "str", "The query as typed."),
        Column("date", "str", "Date of the search (YYYY-MM-DD).", pattern=r"^\d{4}-\d{2}-\d{2}$"),
        Column("hits", "int", "Results returned.", minimum=0),
        Column("notes", "str", "What was found.", required=False),
    ),
)

ARMS = ("ketamine", "saline")
SESSIONS = ("pre", "post")
DTI_ROIS = ("L_BA10", "R_BA10", "L_amygdala", "R_amygdala", "L_hippocampus", "R_hippocampus", "vACC")
#: how each region is named for readers (figures and tables)
DTI_ROI_LABELS = {"L_BA10": "Left BA10", "R_BA10": "Right BA10", "L_amygdala": "Left amygdala",
                  "R_amygdala": "Right amygdala", "L_hippocampus": "Left hippocampus",
                  "R_hippocampus": "Right hippocampus", "vACC": "Ventral ACC"}

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

SCHEMAS = {"literature": LITERATURE, "leads": LEADS, "risk_of_bias": RISK_OF_BIAS,
           "published_meta_analyses": PUBLISHED_META, "search_log": SEARCH_LOG, "participants": PARTICIPANTS, "roi_md": ROI_MD,
           "nimh_participants": NIMH_PARTICIPANTS, "nimh_phenotype": NIMH_PHENOTYPE}
