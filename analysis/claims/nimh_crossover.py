"""The `nimh-crossover` chapter: NIMH's placebo-controlled ketamine crossover (OpenNeuro ds005917),
real participant-level data behind the popular "~70% respond, ~30% remit (an NIMH study)"."""
from __future__ import annotations

import pandas as pd

__all__ = ["SESSIONS", "long_table", "consort_flow", "consort_markdown", "counts_payload", "rates_markdown",
           "dwi_sessions", "fmri_design", "spaghetti_frame"]

#: Session id -> (treatment, day after the infusion); ses-b0 is the baseline.
SESSIONS = {"ses-d2": ("ketamine", 2), "ses-d10": ("ketamine", 10), "ses-p2": ("placebo", 2),
            "ses-p10": ("placebo", 10)}
_CODES = {"d": "ketamine", "p": "placebo"}


def long_table(participants: pd.DataFrame, phenotype: pd.DataFrame, *, group: str = "MDD",
               scale: str = "MADRS_Total") -> pd.DataFrame:
    """One row per participant of ``group`` and post-infusion session rated on ``scale``, with
    the baseline (ses-b0) score; participants without a baseline rating are left out.

    Returns
    -------
    DataFrame
        ``participant_id, session_id, treatment, day, period (1 | 2), sequence (KP | PK),
        baseline, score``.
    """
    members = participants[participants["group"] == group].set_index("participant_id")
    ratings = phenotype[phenotype["participant_id"].isin(members.index)].dropna(subset=[scale])
    baseline = ratings[ratings["session_id"] == "ses-b0"].set_index("participant_id")[scale]
    rows = []
    for rating in ratings[ratings["session_id"].isin(SESSIONS)].itertuples(index=False):
        participant = rating.participant_id
        if participant not in baseline.index:
            continue
        treatment, day = SESSIONS[rating.session_id]
        first, second = members.loc[participant, "infusion_1"], members.loc[participant, "infusion_2"]
        order = [_CODES.get(first), _CODES.get(second)]
        if treatment not in order:
            continue  # a rating for an infusion the participants table does not list
        rows.append({"participant_id": participant, "session_id": rating.session_id, "treatment": treatment,
                     "day": day, "period": order.index(treatment) + 1,
                     "sequence": "KP" if order[0] == "ketamine" else "PK",
                     "baseline": float(baseline[participant]), "score": float(getattr(rating, scale))})
    return pd.DataFrame(rows, columns=["participant_id", "session_id", "treatment", "day", "period", "sequence",
                                       "baseline", "score"])


def consort_flow(participants: pd.DataFrame, phenotype: pd.DataFrame, *, group: str = "MDD",
                 scale: str = "MADRS_Total") -> pd.DataFrame:
    """CONSORT-style counts from the data: enrolled, infused in each period, rated at each session.

    Returns
    -------
    DataFrame
        ``stage, ketamine_first, placebo_first, total``.
    """
    members = participants[participants["group"] == group]
    rated = phenotype.dropna(subset=[scale])
    sequence = members["infusion_1"].map({"d": "ketamine_first", "p": "placebo_first"})

    def count(mask) -> dict:
        chosen = sequence[mask]
        return {"ketamine_first": int((chosen == "ketamine_first").sum()),
                "placebo_first": int((chosen == "placebo_first").sum()), "total": int(mask.sum())}

    rows = [{"stage": "enrolled", **count(pd.Series(True, index=members.index))}]
    rows[0]["ketamine_first"] = int((sequence == "ketamine_first").sum())
    rows[0]["placebo_first"] = int((sequence == "placebo_first").sum())
    rows.append({"stage": "infused in period 1", **count(members["infusion_1"].isin(["d", "p"]))})
    rows.append({"stage": "infused in period 2", **count(members["infusion_2"].isin(["d", "p"]))})
    for session, label in (("ses-b0", "rated at baseline"), ("ses-d2", "rated 2-3 days after ketamine"),
                           ("ses-p2", "rated 2-3 days after placebo"), ("ses-d10", "rated 10-11 days after ketamine"),
                           ("ses-p10", "rated 10-11 days after placebo")):
        ids = set(rated.loc[rated["session_id"] == session, "participant_id"])
        rows.append({"stage": label, **count(members["participant_id"].isin(ids))})
    return pd.DataFrame(rows)


def consort_markdown(flow: pd.DataFrame) -> str:
    """The flow as a markdown table."""
    lines = ["| Stage | Ketamine first | Placebo first | All |", "|---|---|---|---|"]
    lines += [f"| {row.stage} | {row.ketamine_first} | {row.placebo_first} | {row.total} |" for row in flow.itertuples()]
    return "\n".join(lines)


def counts_payload(counts: pd.DataFrame) -> dict:
    """``{"response": {"ketamine_day2": {"events", "n"}, ...}, "remission": {...}}`` for the results file."""
    payload: dict = {}
    for row in counts.itertuples():
        payload.setdefault(row.outcome, {})[f"{row.treatment}_day{row.day}"] = {"events": int(row.events),
                                                                               "n": int(row.n)}
    return payload


def rates_markdown(counts: pd.DataFrame) -> str:
    """Response and remission per treatment and day, with exact CIs."""
    lines = ["| Outcome | Day | Ketamine | Placebo |", "|---|---|---|---|"]
    for (outcome, day), group in counts.groupby(["outcome", "day"], sort=False):
        cells = {}
        for row in group.itertuples():
            cells[row.treatment] = (f"{row.events}/{row.n} = {100 * row.proportion:.0f}% "
                                    f"(95% CI {100 * row.ci_low:.0f} to {100 * row.ci_high:.0f}%)")
        lines.append(f"| {outcome} | {'2-3' if day == 2 else '10-11'} | {cells.get('ketamine', '-')} | "
                     f"{cells.get('placebo', '-')} |")
    return "\n".join(lines)


def dwi_sessions(images: pd.DataFrame, participants: pd.DataFrame, *, group: str = "MDD") -> dict:
    """What the dataset's diffusion images can test: participants of ``group`` with DWI at baseline,
    and with DWI at baseline and after an infusion (by session)."""
    members = set(participants.loc[participants["group"] == group, "participant_id"])
    dwi = images[(images["datatype"] == "dwi") & images["participant_id"].isin(members)]
    by_session = dwi.groupby("session_id")["participant_id"].apply(set)
    baseline = by_session.get("ses-b0", set())
    result = {"baseline": len(baseline)}
    for session in SESSIONS:
        result[f"baseline_and_{session.removeprefix('ses-')}"] = len(baseline & by_session.get(session, set()))
    return result


def fmri_design(data: pd.DataFrame, images: pd.DataFrame) -> dict:
    """The real design of the fMRI prediction claim on this dataset: MDD participants with a baseline
    resting-state scan and a day-2 rating after ketamine; responders by the MADRS at ses-d2."""
    rest = images[(images["datatype"] == "func") & (images["session_id"] == "ses-b0")
                  & images["path"].str.contains("task-rest")]
    scanned = set(rest["participant_id"])
    day2 = data[(data["treatment"] == "ketamine") & (data["day"] == 2) & data["participant_id"].isin(scanned)]
    responders = (day2["score"] <= 0.5 * day2["baseline"]).to_numpy()
    return {"n": int(len(day2)), "n_responders": int(responders.sum()),
            "responder_fraction": float(responders.mean()) if len(day2) else float("nan"),
            "participants": day2["participant_id"].tolist(), "labels": responders.astype(int).tolist()}


def spaghetti_frame(data: pd.DataFrame) -> pd.DataFrame:
    """Per participant the MADRS at baseline and after each infusion, for the line plot."""
    baseline = data.groupby("participant_id").agg(score=("baseline", "first"), sequence=("sequence", "first"))
    baseline = baseline.reset_index().assign(session="baseline", order=0)
    order = {("ketamine", 2): 1, ("ketamine", 10): 2, ("placebo", 2): 3, ("placebo", 10): 4}
    post = data.assign(session=lambda frame: frame["treatment"] + " day " + frame["day"].astype(str),
                       order=[order[(t, d)] for t, d in zip(data["treatment"], data["day"])])
    return pd.concat([baseline, post[["participant_id", "score", "sequence", "session", "order"]]],
                     ignore_index=True).sort_values(["participant_id", "order"])

