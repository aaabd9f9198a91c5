"""The book's one verdict vocabulary and the rules that give its words.

Every chapter and the scoreboard use these strings and nothing else. A verdict on a published
number is given only by data that are real; a subclaim computed on a synthetic cohort gets
:data:`NOT_TESTABLE` and nothing else (:func:`subclaim` refuses any other). Where a number
comes from is a separate column, the source check (:data:`SOURCE_CHECKS`), which is never
folded into the verdict.

Each rule below is written out, thresholds included, in ``claims.yaml`` (``rule:``) and
reached from there; the functions here are its executable form.
"""
from __future__ import annotations

import math

__all__ = ["data_notice", "data_kind", "DATA_KINDS", "DATA_KIND_KEY", "REPRODUCED", "PARTLY", "NOT_REPRODUCED", "INCONCLUSIVE", "NOT_TESTABLE", "DATA_VERDICTS", "VERDICTS",
           "TRACEABLE", "NOT_TRACEABLE", "MISATTRIBUTED", "SOURCE_CHECKS", "NOT_YET_ANALYSED", "DEFINITIONS",
           "OVERALL_RULE", "judge_point", "judge_range", "judge_direction", "subclaim", "overall_verdict",
           "overall_source_check"]

REPRODUCED = "reproduced"
PARTLY = "partly reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable with public data"
#: what a result was computed on; only ``real`` data give a verdict other than NOT_TESTABLE
DATA_KINDS = ("real", "synthetic", "demonstration")
#: the glue key under which a claim notebook records its data kind (``analysis.report.glue_data_kind``);
#: the book build keeps the cells tagged ``only-<kind>`` of that kind and removes the others
DATA_KIND_KEY = "dataset_kind"
#: Verdicts only real data can give.
DATA_VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED, INCONCLUSIVE)
VERDICTS = DATA_VERDICTS + (NOT_TESTABLE,)

TRACEABLE = "traceable"
NOT_TRACEABLE = "not traceable"
MISATTRIBUTED = "misattributed"
#: Where a published number comes from, most serious last.
SOURCE_CHECKS = (TRACEABLE, NOT_TRACEABLE, MISATTRIBUTED)

#: What the scoreboard shows for a claim whose notebook has not written results (a status, not a verdict).
NOT_YET_ANALYSED = "not yet analysed"

DEFINITIONS = {
    REPRODUCED: "Judged on real data: the estimate agrees with the published number within the margin the "
                "claim's rule states, and its 95% confidence interval is narrow enough to show it.",
    PARTLY: "Judged on real data: part of the published statement holds and part does not, or the interval "
            "agrees with the published number but also reaches beyond the rule's margin.",
    NOT_REPRODUCED: "Judged on real data: the 95% confidence interval excludes the published number by more "
                    "than the rule's margin, or shows the opposite direction.",
    INCONCLUSIVE: "Judged on real data: the interval is too wide to support or refute the published number.",
    NOT_TESTABLE: "The data behind the finding are not public. The chapter runs the analysis on synthetic "
                  "cohorts to show what it can detect at the published design, never whether the finding holds.",
    TRACEABLE: "Source check: the number was found in the source it is attributed to.",
    NOT_TRACEABLE: "Source check: no source reporting the number was found.",
    MISATTRIBUTED: "Source check: the number exists, but in a different source from the one named.",
}

#: How a claim's overall verdict follows from its subclaims (shown on the scoreboard).
OVERALL_RULE = (
    "A claim's overall verdict is 'not testable with public data' when every subclaim is; otherwise it is "
    "read from the subclaims judged on real data: 'reproduced' when all are reproduced, 'not reproduced' when "
    "all are not reproduced, 'inconclusive' when all are inconclusive, and 'partly reproduced' for any other "
    "mix. The source check is shown beside the verdict, never folded into it: a claim's source check is the "
    "most serious of its subclaims' (misattributed, then not traceable, then traceable).")


#: Boundaries are inclusive; this absorbs floating-point error in bands such as 0.70 ± 0.10.
_TOLERANCE = 1e-9


def _check_interval(ci_low: float, ci_high: float) -> None:
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)) or ci_low > ci_high:
        raise ValueError(f"a verdict needs a finite interval with ci_low <= ci_high, got [{ci_low}, {ci_high}]")


def judge_point(ci_low: float, ci_high: float, published: float, margin: float) -> str:
    """A published point value against a 95% CI, with an equivalence margin.

    The equivalence band is ``[published - margin, published + margin]``.

    - reproduced: the CI lies inside the band;
    - not reproduced: the CI lies entirely outside the band;
    - inconclusive: the CI is wider than the band (``ci_high - ci_low > 2 * margin``) and overlaps it;
    - partly reproduced: otherwise (the CI is narrow enough but crosses one edge of the band).

    >>> judge_point(0.62, 0.71, 0.70, 0.10)
    'reproduced'
    >>> judge_point(0.30, 0.48, 0.70, 0.10)
    'not reproduced'
    """
    _check_interval(ci_low, ci_high)
    if margin <= 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    return judge_range(ci_low, ci_high, published - margin, published + margin)


def judge_range(ci_low: float, ci_high: float, low: float, high: float) -> str:
    """A published range against a 95% CI.

    - reproduced: the CI lies inside ``[low, high]``;
    - not reproduced: the CI lies entirely outside it;
    - inconclusive: the CI is wider than the range and overlaps it;
    - partly reproduced: otherwise (the CI crosses one end of the range).

    >>> judge_range(0.40, 0.55, 0.50, 0.75)
    'partly reproduced'
    """
    _check_interval(ci_low, ci_high)
    if low >= high:
        raise ValueError(f"a range needs low < high, got [{low}, {high}]")
    if low - _TOLERANCE <= ci_low and ci_high <= high + _TOLERANCE:
        return REPRODUCED
    if ci_high < low - _TOLERANCE or ci_low > high + _TOLERANCE:
        return NOT_REPRODUCED
    if ci_high - ci_low > high - low + _TOLERANCE:
        return INCONCLUSIVE
    return PARTLY


def judge_direction(ci_low: float, ci_high: float, margin: float) -> str:
    """A published claim that a difference is positive ("A works better than B"), against the
    95% CI of that difference, with a margin of no practical difference.

    - reproduced: the CI lies above 0;
    - not reproduced: the CI lies below 0, or inside ``[-margin, margin]`` (no difference that matters);
    - inconclusive: otherwise (the CI includes 0 and reaches beyond the margin).

    This rule never gives 'partly reproduced': a direction holds or it does not.

    >>> judge_direction(-0.05, 0.25, 0.10)
    'inconclusive'
    """
    _check_interval(ci_low, ci_high)
    if margin <= 0:
        raise ValueError(f"the margin must be positive, got {margin}")
    if ci_low > 0:
        return REPRODUCED
    if ci_high < 0 or (-margin <= ci_low and ci_high <= margin):
        return NOT_REPRODUCED
    return INCONCLUSIVE


def subclaim(*, key: str, label: str, published: str, verdict: str, data: str, rule: str, basis: str,
             source_check: str | None = None, estimate=None, ci_low=None, ci_high=None, **extra) -> dict:
    """One entry of ``subclaims`` in ``results/<claim>.json``, checked against the vocabulary.

    Raises
    ------
    ValueError
        For a verdict or source check outside the vocabulary, a ``data`` other than ``real`` or
        ``synthetic``, an empty rule or basis, or a synthetic subclaim with a data verdict.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"subclaim {key!r}: verdict {verdict!r} is not one of {list(VERDICTS)}")
    if data not in DATA_KINDS:
        raise ValueError(f"subclaim {key!r}: data must be one of {list(DATA_KINDS)}, got {data!r}")
    if data != "real" and verdict != NOT_TESTABLE:
        raise ValueError(f"subclaim {key!r}: computed on {data} data, so its verdict must be "
                         f"{NOT_TESTABLE!r}, got {verdict!r}")
    if source_check is not None and source_check not in SOURCE_CHECKS:
        raise ValueError(f"subclaim {key!r}: source check {source_check!r} is not one of {list(SOURCE_CHECKS)}")
    if not str(rule).strip() or not str(basis).strip():
        raise ValueError(f"subclaim {key!r}: needs a rule and a basis")
    return {"key": key, "label": label, "published": published, "estimate": estimate, "ci_low": ci_low,
            "ci_high": ci_high, "verdict": verdict, "data": data, "rule": " ".join(str(rule).split()),
            "basis": basis, "source_check": source_check, **extra}


def overall_verdict(verdicts: list[str]) -> str:
    """A claim's overall verdict from its subclaims' verdicts (:data:`OVERALL_RULE`).

    >>> overall_verdict(["reproduced", "inconclusive"])
    'partly reproduced'
    >>> overall_verdict(["not testable with public data"])
    'not testable with public data'
    """
    unknown = [verdict for verdict in verdicts if verdict not in VERDICTS]
    if unknown or not verdicts:
        raise ValueError(f"overall verdict needs subclaim verdicts from {list(VERDICTS)}, got {verdicts}")
    judged = [verdict for verdict in verdicts if verdict != NOT_TESTABLE]
    if not judged:
        return NOT_TESTABLE
    for word in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE):
        if all(verdict == word for verdict in judged):
            return word
    return PARTLY


def overall_source_check(checks: list[str | None]) -> str | None:
    """The most serious source check among a claim's subclaims (None when none was checked).

    >>> overall_source_check([None, "traceable", "not traceable"])
    'not traceable'
    """
    present = [check for check in checks if check is not None]
    for check in present:
        if check not in SOURCE_CHECKS:
            raise ValueError(f"source check {check!r} is not one of {list(SOURCE_CHECKS)}")
    return max(present, key=SOURCE_CHECKS.index) if present else None


def data_kind(description: dict) -> str:
    """What an imaging dataset is, from its ``dataset_description.json``: ``synthetic`` (it
    declares ``"Synthetic": true``), ``demonstration`` (real images with invented clinical data: it
    declares ``"Demonstration": "<what is real and what is invented>"``) or ``real``. Only real
    data give a verdict.

    >>> data_kind({"Synthetic": True}), data_kind({"Demonstration": "invented scores"}), data_kind({})
    ('synthetic', 'demonstration', 'real')
    """
    if description.get("Synthetic"):
        return "synthetic"
    return "demonstration" if description.get("Demonstration") else "real"


def data_notice(description: dict, n_participants: int, synthetic_text: str) -> str:
    """The notice at the top of an imaging chapter, from its dataset's ``dataset_description.json``
    (:func:`data_kind`): "Synthetic data." with the generator, its version and seed, then
    ``synthetic_text`` (what the chapter's synthetic cohort mirrors and cannot show); "Demonstration"
    with what is real and what is invented; or "Real data" with the dataset's name."""
    kind = data_kind(description)
    if kind == "synthetic":
        generator = (description.get("GeneratedBy") or [{}])[0]
        return (f"**Synthetic data.** {n_participants} participants *generated* by `{generator.get('Name', '?')}` "
                f"{generator.get('Version', '')} from seed {description.get('SimulationSeed')}. {synthetic_text}")
    if kind == "demonstration":
        return (f"**Demonstration: real images, invented scores.** {description.get('Name', 'unnamed dataset')}, "
                f"{n_participants} participants: {description['Demonstration']}. The page shows the analysis "
                "running on real images; with invented clinical data it gives no verdict.")
    return (f"**Real data** ({description.get('Name', 'unnamed dataset')}, {n_participants} participants), "
            "analysed with the same code as the synthetic default.")
