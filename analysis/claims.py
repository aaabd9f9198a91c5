"""The claims registry, verdict rules and the generated scoreboard page."""
from __future__ import annotations

from pathlib import Path

import yaml

from . import paths
from .results import read_results

__all__ = ["load_registry", "verdict_point", "verdict_range", "verdict_direction",
           "combine_verdicts", "scoreboard_markdown", "VERDICTS"]

VERDICTS = ("reproduced", "partly", "not reproduced", "not traceable", "not yet analysed")
_REQUIRED = ("id", "title", "claim", "source", "published", "reproduced_means", "notebook", "chapter")


def load_registry(path: str | Path = paths.REGISTRY) -> list[dict]:
    """Read ``claims.yaml``; every entry needs the fields in ``_REQUIRED`` and a unique id."""
    path = Path(path)
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of claims, got {type(entries).__name__}")
    seen = set()
    for index, entry in enumerate(entries, start=1):
        missing = [field for field in _REQUIRED if field not in entry]
        if missing:
            raise ValueError(f"{path}: claim {index} ({entry.get('id', '?')}): missing field(s) {missing}")
        if entry["id"] in seen:
            raise ValueError(f"{path}: claim {index}: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
    return entries


def verdict_point(value: float, fit: dict) -> str:
    """A published point value against a pooled estimate.

    reproduced: inside the 95% CI; partly: inside the prediction interval only;
    not reproduced: outside both.
    """
    if fit["ci_low"] <= value <= fit["ci_high"]:
        return "reproduced"
    if fit["pi_low"] <= value <= fit["pi_high"]:
        return "partly"
    return "not reproduced"


def verdict_range(low: float, high: float, fit: dict) -> str:
    """A published range against a pooled estimate.

    reproduced: the 95% CI lies inside the range; partly: the point estimate lies inside
    the range (or the CI overlaps it); not reproduced: no overlap.
    """
    if low <= fit["ci_low"] and fit["ci_high"] <= high:
        return "reproduced"
    if fit["ci_high"] >= low and fit["ci_low"] <= high:
        return "partly"
    return "not reproduced"


def verdict_direction(difference: float, p_value: float, *, alpha: float = 0.05) -> str:
    """A claimed positive difference: reproduced if positive and significant, partly if
    positive but not significant, not reproduced otherwise."""
    if difference > 0 and p_value < alpha:
        return "reproduced"
    if difference > 0:
        return "partly"
    return "not reproduced"


def combine_verdicts(verdicts: list[str]) -> str:
    """Overall verdict of a claim from the verdicts on its numbers."""
    checked = [verdict for verdict in verdicts if verdict != "not traceable"]
    if not checked:
        return "not traceable"
    if all(verdict == "reproduced" for verdict in checked):
        return "reproduced"
    if all(verdict == "not reproduced" for verdict in checked):
        return "not reproduced"
    return "partly"


def _format_interval(item: dict) -> str:
    if item.get("reproduced_text"):
        return item["reproduced_text"]
    if item.get("estimate") is None:
        return "n/a"
    scale = item.get("scale", "proportion")
    if scale == "proportion":
        return f"{100 * item['estimate']:.1f}% ({100 * item['ci_low']:.1f}-{100 * item['ci_high']:.1f}%)"
    return f"{item['estimate']:.3g} ({item['ci_low']:.3g} to {item['ci_high']:.3g})"


def scoreboard_markdown(registry: list[dict], results_dir: Path) -> str:
    """The scoreboard page (MyST markdown): one table row per published number."""
    lines = [
        "(scoreboard)=",
        "# Scoreboard",
        "",
        "Each published number beside what this book reproduced from data. The estimates "
        "come from `results/<claim>.json`, written by each claim's executed notebook; "
        "claims without a notebook yet are listed as *not yet analysed*, never with numbers.",
        "",
        ":::{list-table} Published claims and their reproduction (estimate with 95% CI).",
        ":header-rows: 1",
        ":name: tab-scoreboard",
        ":widths: 22 14 30 14 20",
        "",
        "* - Claim",
        "  - Published",
        "  - Reproduced (95% CI)",
        "  - Verdict",
        "  - Chapter",
    ]
    for entry in registry:
        result_file = results_dir / f"{entry['id']}.json"
        analysed = entry.get("notebook") and result_file.exists()
        result = read_results(result_file) if analysed else None
        items = result["subclaims"] if result else [
            {"label": item["label"], "published": item["text"]} for item in entry["published"]]
        chapter = f"{{doc}}`/book/{entry['chapter']}`" if entry.get("chapter") else "(planned)"
        overall = result["verdict"] if result else "not yet analysed"
        for position, item in enumerate(items):
            data = f"{entry['data']}; " if entry.get("data") else ""
            claim_cell = f"**{entry['title']}** ({data}overall: {overall})" if position == 0 else ""
            reproduced = _format_interval(item) if result else "not yet analysed"
            verdict = item["verdict"] if result else "not yet analysed"
            lines += [
                f"* - {claim_cell or '&nbsp;'}",
                f"  - {item['label']}: {item['published']}",
                f"  - {reproduced}",
                f"  - {verdict}",
                f"  - {chapter if position == 0 else '&nbsp;'}",
            ]
    lines += [":::", "", "Verdict rules are stated per claim in `claims.yaml`:", ""]
    for entry in registry:
        lines.append(f"- **{entry['title']}**: {entry['reproduced_means'].strip()}")
    lines.append("")
    return "\n".join(lines)
