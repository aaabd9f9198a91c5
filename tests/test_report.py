"""Figures for readers: the interactive forest plot and the glued two-faced figure."""
import base64
import re

import numpy as np
import pandas as pd
import pytest

from analysis import plotting
from analysis.report import _InteractiveFigure, interactive_html


def _forest_inputs():
    rows = pd.DataFrame({
        "stratum": ["racemic IV, end of course"] * 2 + ["esketamine, 24 h"],
        "label": ["Smith 2020, 0.5 mg/kg", "Jones 2021", "Lee 2019, 56 mg"],
        "events": [12, 30, 4], "n": [20, 60, 11],
        "timepoint": ["day 28", "week 4", "24 h"], "risk_of_bias": ["low", "high", "some concerns"],
        "quote": ["Twelve of 20 patients (60%) responded.", "30 of 60 met response criteria", ""],
        "doi": ["10.1000/a", "10.1000/b", "10.1000/c"]})
    rows["proportion"] = rows["events"] / rows["n"]
    rows["ci_low"], rows["ci_high"] = rows["proportion"] - 0.1, rows["proportion"] + 0.1
    strata = pd.DataFrame({"stratum": ["racemic IV, end of course", "esketamine, 24 h"],
                           "proportion": [0.52, 0.36], "ci_low": [0.4, 0.1], "ci_high": [0.64, 0.69],
                           "pi_low": [0.2, np.nan], "pi_high": [0.8, np.nan], "k_trials": [2, 1]})
    return rows, strata


def test_interactive_forest_shows_every_arm_with_its_source():
    rows, strata = _forest_inputs()
    figure = plotting.interactive_stratum_forest(rows, strata, xlabel="Proportion with response",
                                                 references={"~70%": 0.7})
    arms, diamonds = figure.data[0], figure.data[-1]
    assert list(arms.x) == pytest.approx(list(rows["proportion"]))
    assert list(diamonds.x) == pytest.approx([0.52, 0.36])
    assert "Twelve of 20 patients" in arms.text[0] and "DOI: 10.1000/a" in arms.text[0]
    assert "Risk of bias: high" in arms.text[1]
    assert "participant-level" in arms.text[2]  # no quoted sentence: counted from the data
    assert "prediction interval 20.0% to 80.0%" in diamonds.text[0]
    assert "prediction interval" not in diamonds.text[1]  # one trial: no prediction interval
    ticks = list(figure.layout.yaxis.ticktext)
    assert ticks[0] == "<b>racemic IV, end of course</b>" and "Pooled (2 trials)" in ticks[3]
    assert len(set(figure.layout.yaxis.tickvals)) == len(ticks)  # every row has its own position
    # only one prediction-interval trace, drawn under the diamonds
    assert [trace.name for trace in figure.data] == ["Arm (exact 95% CI)", "95% prediction interval", "Pooled (95% CI)"]


def test_interactive_html_needs_no_network_and_is_deterministic():
    rows, strata = _forest_inputs()
    figure = plotting.interactive_stratum_forest(rows, strata)
    first = interactive_html(figure, div_id="figure-x", alt='Forest plot of "response" per arm')
    second = interactive_html(plotting.interactive_stratum_forest(rows, strata), div_id="figure-x",
                              alt='Forest plot of "response" per arm')
    assert first == second
    assert 'class="interactive-figure"' in first and 'id="figure-x"' in first
    assert 'aria-label="Forest plot of &quot;response&quot; per arm"' in first
    assert not re.search(r"<script[^>]+src=", first) and "cdn" not in first.lower()
    assert '"displaylogo":false' in first.replace(" ", "")


def test_interactive_figure_offers_html_and_the_static_png():
    png = b"\x89PNG\r\n\x1a\nrest"
    bundle = _InteractiveFigure("<div>plot</div>", png, "a forest plot")._repr_mimebundle_()
    assert bundle["text/html"] == "<div>plot</div>" and bundle["text/plain"] == "a forest plot"
    assert base64.b64decode(bundle["image/png"]) == png  # the PDF takes this face
