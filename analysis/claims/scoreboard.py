"""The scoreboard page: per claim, each published number, what the data show and the verdict.

Generated from ``claims.yaml`` and ``results/<claim>.json`` (written by each claim's executed
notebook). Verdicts are shown as coloured badges with their data type, in tables of three
columns so that the page reads on a phone.
"""
from __future__ import annotations

from pathlib import Path

from ..results import read_results
from . import verdicts as v

__all__ = ["scoreboard_markdown", "key_findings_markdown", "verdict_badge", "data_badge", "source_badge", "format_estimate", "item_badges",
           "verdict_table_markdown"]

_VERDICT_STYLE = {v.REPRODUCED: "success", v.PARTLY: "warning", v.NOT_REPRODUCED: "danger",
                  v.INCONCLUSIVE: "muted", v.NOT_TESTABLE: "info", v.NOT_YET_ANALYSED: "light"}
_SOURCE_STYLE = {v.TRACEABLE: "success-line", v.NOT_TRACEABLE: "warning-line", v.MISATTRIBUTED: "danger-line"}


def verdict_badge(verdict: str) -> str:
    """A sphinx-design badge for a verdict (HTML: coloured; PDF: the word in bold)."""
    if verdict not in _VERDICT_STYLE:
        raise ValueError(f"unknown verdict {verdict!r}; expected one of {list(_VERDICT_STYLE)}")
    return f"{{bdg-{_VERDICT_STYLE[verdict]}}}`{verdict}`"


_DATA_BADGES = {"real": "{bdg-primary-line}`real data`", "synthetic": "{bdg-dark-line}`synthetic data`",
                "demonstration": "{bdg-warning-line}`demonstration: invented scores`"}


def data_badge(data: str) -> str:
    """``real data``, ``synthetic data`` or ``demonstration: invented scores`` as a badge."""
    if data not in _DATA_BADGES:
        raise ValueError(f"data must be one of {list(_DATA_BADGES)}, got {data!r}")
    return _DATA_BADGES[data]


def source_badge(check: str | None) -> str:
    """The source check as a badge ('' when the number's source was not checked)."""
    if check is None:
        return ""
    if check not in _SOURCE_STYLE:
        raise ValueError(f"unknown source check {check!r}; expected one of {list(_SOURCE_STYLE)}")
    return f"{{bdg-{_SOURCE_STYLE[check]}}}`source: {check}`"


def item_badges(item: dict, *, separator: str = " · ", sources: bool = True) -> str:
    """A subclaim's verdict, data and (optionally) source-check badges, joined by ``separator``."""
    parts = (verdict_badge(item["verdict"]), data_badge(item["data"]),
             source_badge(item.get("source_check")) if sources else "")
    return separator.join(part for part in parts if part)


def verdict_table_markdown(subclaims: list[dict], *, sources: bool = True) -> str:
    """A chapter's verdict table (MyST markdown with badges), one row per subclaim."""
    lines = ["| Published | What the data show | Verdict |", "|---|---|---|"]
    lines += [f"| {item['label']}: {item['published']} | {format_estimate(item)} | "
              f"{item_badges(item, sources=sources)} |" for item in subclaims]
    return "\n".join(lines)


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def format_estimate(item: dict) -> str:
    """What the data show for one subclaim, for the scoreboard's middle column.

    Real data: the estimate with its 95% CI. Synthetic data: what the analysis can detect at the
    published design (never a synthetic estimate). A source-only item: the source check.
    """
    detectable = item.get("detectable")
    if item.get("data") in ("synthetic", "demonstration"):
        if detectable:
            return (f"At the published design the analysis detects this {_percent(detectable['power'])} of the "
                    f"time when it is true and {100 * detectable['false_positive_rate']:.1f}% of the time when it "
                    f"is not ({detectable['n_simulations']} simulated studies each)")
        return item.get("basis", "")
    beside = item.get("beside")
    beside_text = (f"; beside it, {beside['basis']}: {100 * beside['proportion']:.1f}% "
                   f"(95% CI {100 * beside['ci_low']:.1f} to {100 * beside['ci_high']:.1f}%)" if beside else "")
    if item.get("estimate") is None:
        return item.get("basis", "") + beside_text
    scale = item.get("scale", "proportion")
    estimate, low, high = item["estimate"], item["ci_low"], item["ci_high"]
    if scale == "proportion":
        return f"{100 * estimate:.1f}% (95% CI {100 * low:.1f} to {100 * high:.1f}%)" + beside_text
    if scale == "difference":
        return f"{100 * estimate:+.1f} points (95% CI {100 * low:+.1f} to {100 * high:+.1f})"
    if scale == "odds ratio":
        return f"odds ratio {estimate:.2f} (95% CI {low:.2f} to {high:.2f})"
    return f"{estimate:.3g} (95% CI {low:.3g} to {high:.3g})"


def _evidence_section(entry: dict, result: dict | None) -> list[str]:
    """A chapter that is evidence for another claim: its headline numbers, no verdict of its own."""
    chapter = f"{{doc}}`Chapter </book/{entry['chapter']}>`"
    lines = [f"### Evidence: {entry['title']}", "",
             f"{data_badge(entry['data'])} · real participant-level data behind the claim above; its numbers "
             f"enter that claim's verdict, it gives none of its own · {chapter}", ""]
    if result is None:
        return lines + [f"{verdict_badge(v.NOT_YET_ANALYSED)}", ""]
    lines += [f":::{{list-table}} {entry['title']}: headline numbers", ":header-rows: 1", ":widths: 40 60",
              f":name: tab-scoreboard-{entry['id']}", "", "* - Measure", "  - Result"]
    for outcome in ("response", "remission"):
        for key, label in (("ketamine_day2", "2-3 days after ketamine"), ("placebo_day2", "2-3 days after placebo")):
            count = result["counts"][outcome][key]
            share = count["events"] / count["n"] if count["n"] else float("nan")
            lines += [f"* - {outcome.capitalize()}, {label}", f"  - {count['events']}/{count['n']} ({100 * share:.0f}%)"]
    model = result["mixed_model"]["day2"]
    lines += ["* - MADRS, ketamine minus placebo, 2-3 days",
              f"  - {model['estimate']:.1f} points (95% CI {model['ci_low']:.1f} to {model['ci_high']:.1f})", ":::", ""]
    return lines


def _claim_section(entry: dict, result: dict | None) -> list[str]:
    if entry.get("evidence_for"):
        return _evidence_section(entry, result)
    chapter = f"{{doc}}`Chapter </book/{entry['chapter']}>`" if entry.get("chapter") else ""
    lines = [f"## {entry['title']}", ""]
    if result is None:
        lines += [f"{verdict_badge(v.NOT_YET_ANALYSED)} {data_badge(entry['data'])}", ""]
        items = [{"label": item["label"], "published": item["text"]} for item in entry["published"]]
    else:
        overall = [verdict_badge(result["verdict"]), data_badge(result["data"]),
                   source_badge(result.get("source_check"))]
        lines += ["Overall: " + " · ".join(part for part in overall if part) + (f" · {chapter}" if chapter else ""), ""]
        items = result["subclaims"]
    lines += [f":::{{list-table}} {entry['title']}: published numbers and what the data show",
              ":header-rows: 1", ":widths: 30 45 25", f":name: tab-scoreboard-{entry['id']}", "",
              "* - Published", "  - What the data show", "  - Verdict"]
    for item in items:
        if result is None:
            shown, badges = v.NOT_YET_ANALYSED, verdict_badge(v.NOT_YET_ANALYSED)
        else:
            shown = format_estimate(item)
            # one paragraph per badge: stacked in HTML, one per line in the PDF
            badges = item_badges(item, separator="\n\n    ")
        lines += [f"* - {item['label']}: {item['published']}", f"  - {shown or '&nbsp;'}", f"  - {badges}"]
    lines += [":::", ""]
    return lines


def _rules_section(registry: list[dict]) -> list[str]:
    lines = ["## The rules", "", v.OVERALL_RULE, ""]
    for entry in registry:
        if not entry["published"]:
            continue
        stated = entry["rules_stated"]
        when = (f"These rules were written on {stated['date']}, after the numbers they judge had been seen."
                if stated["after_results"] else f"These rules were written on {stated['date']}, before the "
                                                "numbers they judge were computed.")
        lines += [f"### {entry['title']}", "", when, ""]
        for item in entry["published"]:
            lines += [f"- **{item['label']}** ({item['text']}): {' '.join(item['rule'].split())}"]
        lines.append("")
    return lines


def scoreboard_markdown(registry: list[dict], results_dir: Path) -> str:
    """The scoreboard page (MyST markdown)."""
    lines = ["(scoreboard)=", "# Scoreboard", "",
             "Each published number beside what the data show, and the verdict its rule gives. Only real data "
             "can give a verdict on a published finding; where the data are not public, the chapter runs the "
             "same analysis on synthetic cohorts and reports what it can detect at the published design.", "",
             ":::{list-table} The verdict vocabulary", ":header-rows: 1", ":widths: 30 70",
             ":name: tab-verdict-vocabulary", "", "* - Verdict", "  - Meaning"]
    for word, meaning in v.DEFINITIONS.items():
        badge = verdict_badge(word) if word in v.VERDICTS else source_badge(word)
        lines += [f"* - {badge}", f"  - {meaning}"]
    lines += [":::", ""]
    for entry in registry:
        result_file = Path(results_dir) / f"{entry['id']}.json"
        result = read_results(result_file) if entry.get("notebook") and result_file.exists() else None
        lines += _claim_section(entry, result)
    lines += _rules_section(registry)
    return "\n".join(lines)


def _headline(entry: dict, result: dict) -> str:
    """One line per claim for the key-findings box: what the data show for its first published number
    (real data), or what the analysis can detect at the published design (synthetic data)."""
    if entry.get("evidence_for"):
        count = result["counts"]["response"]["ketamine_day2"]
        model = result["mixed_model"]["day2"]
        return (f"{count['events']} of {count['n']} MDD participants responded 2-3 days after one ketamine "
                f"infusion; MADRS {model['estimate']:.1f} points against placebo (95% CI {model['ci_low']:.1f} to "
                f"{model['ci_high']:.1f})")
    items = result["subclaims"]
    if result["data"] != "real":
        item = next((item for item in items if item.get("detectable")), items[0])
    else:
        item = items[0]
    shown = format_estimate(item)
    shown = shown[0].lower() + shown[1:] if shown.startswith("At ") else shown
    return f"{item['label']} ({item['published']}): {shown}"


_DATA_PHRASES = {"synthetic": "a synthetic cohort", "demonstration": "a demonstration (real images, invented scores)",
                 "real": "real data"}
_DATA_PLURALS = {"synthetic": "synthetic cohorts", "demonstration": "demonstrations (real images, invented scores)",
                 "real": "real data"}
_CHAPTER_NAMES = {"dti-neuroplasticity": "the DTI chapter", "fmri-prediction": "the fMRI chapter"}


def data_statement(registry: list[dict], results_dir: Path) -> str:
    """One plain sentence on what the imaging chapters of this run are computed on (from their
    results files), for the HTML footer and the PDF's title page; the registry's default kind
    when a chapter has no results yet.

    >>> data_statement([{"id": "dti-neuroplasticity", "data": "synthetic"}], Path("/nonexistent"))
    'The DTI chapter runs on a synthetic cohort; the literature chapters use published data.'
    """
    kinds = {}
    for entry in registry:
        if entry["id"] in _CHAPTER_NAMES:
            result_file = Path(results_dir) / f"{entry['id']}.json"
            kinds[entry["id"]] = read_results(result_file)["data"] if result_file.exists() else entry["data"]
    if len(kinds) > 1 and len(set(kinds.values())) == 1:
        imaging = f"The imaging chapters run on {_DATA_PLURALS[next(iter(kinds.values()))]}"
    else:
        parts = [f"{_CHAPTER_NAMES[claim]} on {_DATA_PHRASES[kind]}" for claim, kind in kinds.items()]
        imaging = ", ".join(parts).replace(" on ", " runs on ", 1)
        imaging = imaging[:1].upper() + imaging[1:]
    return f"{imaging}; the literature chapters use published data." if kinds else \
        "The literature chapters use published data."


def key_findings_markdown(registry: list[dict], results_dir: Path) -> str:
    """The box at the top of the introduction: one line per chapter with its verdict badge (or its
    real-data tag, for evidence chapters), the headline and a link to the chapter."""
    lines = [":::{admonition} Key findings", ":class: tip", ""]
    for entry in registry:
        result_file = Path(results_dir) / f"{entry['id']}.json"
        result = read_results(result_file) if entry.get("notebook") and result_file.exists() else None
        link = f"{{doc}}`{entry['title']} </book/{entry['chapter']}>`"
        if result is None:
            lines.append(f"- {verdict_badge(v.NOT_YET_ANALYSED)} {data_badge(entry['data'])} {link}")
            continue
        badges = [data_badge(result["data"])] if entry.get("evidence_for") else [
            verdict_badge(result["verdict"]), data_badge(result["data"])]
        lines.append(f"- {' '.join(badges)} **{link}.** {_headline(entry, result)}.")
    lines += ["", "Verdicts follow the rules on the {ref}`scoreboard`; synthetic data never give a verdict on a "
              "published finding.", ":::", ""]
    return "\n".join(lines)
