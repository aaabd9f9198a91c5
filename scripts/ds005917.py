"""The NIMH ketamine crossover (OpenNeuro ds005917) as a ready route for the fMRI chapter.

    python scripts/ds005917.py labels   data/ds005917-derivatives    # real labels and the ROI table
    python scripts/ds005917.py stand-in DIR                           # a SYNTHETIC stand-in, for tests

``labels`` writes, from the vendored tables in ``data/ds005917/`` (real, checksummed):

- ``fmri_participants.tsv``: the participants with major depression who have a baseline
  resting-state scan and a MADRS 2-3 days after ketamine, with ``responder`` (1 when that MADRS is at
  most half the baseline score; the same design the fMRI chapter's simulation study uses), ``age``,
  ``sex`` and the baseline MADRS (``madrs_pre``);
- ``rois.tsv``: the chapter's a-priori regions (MNI mm), so that the hypothesis stays the same.

``stand-in`` writes the same two tables plus, under ``DIR/fmriprep``, SYNTHETIC baseline
resting-state images in the exact layout fMRIPrep writes for ds005917 (subjects, ``ses-b0``, every
rest run the dataset has, file names; ``dataset_description.json`` says they are synthetic). Its
responders carry the generator's planted difference, assigned to the real responders. It exists
so that the route can be tested end to end without the images; it is never real data.

The images themselves come from ``make data-ds005917`` (``scripts/ds005917_download.py``, with
openneuro-py in its own environment), and the derivatives from fMRIPrep (see "Run it on your data").
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "data" / "ds005917"
SESSION = "b0"


def design() -> dict:
    """The fMRI chapter's real design on ds005917 (participants, responder labels)."""
    from analysis.claims.studies import real_design

    return real_design(str(DATASET))


def rest_runs(participants: list[str]) -> dict[str, list[str]]:
    """The baseline rest runs of each participant in the vendored image list (``01``, ``02``, ...)."""
    images = pd.read_csv(DATASET / "images.tsv", sep="\t")
    rest = images[(images["session_id"] == f"ses-{SESSION}") & images["path"].str.contains("_task-rest_")]
    runs = {participant: sorted(path.split("_run-")[1].split("_")[0] for path in rest.loc[rest["participant_id"] == participant, "path"])
            for participant in participants}
    return runs


def write_labels(out: Path) -> pd.DataFrame:
    from analysis.simulate.fmri import select_rois

    out.mkdir(parents=True, exist_ok=True)
    real = design()
    participants = pd.read_csv(DATASET / "participants.tsv", sep="\t").set_index("participant_id")
    phenotype = pd.read_csv(DATASET / "phenotype" / "phenotype.tsv", sep="\t")
    baseline = phenotype[phenotype["session_id"] == f"ses-{SESSION}"].set_index("participant_id")["MADRS_Total"]
    table = pd.DataFrame({"participant_id": real["participants"], "responder": real["labels"]})
    table["age"] = participants.loc[table["participant_id"], "age"].to_numpy()
    table["sex"] = participants.loc[table["participant_id"], "sex"].to_numpy()
    table["madrs_pre"] = baseline.loc[table["participant_id"]].to_numpy()
    table.to_csv(out / "fmri_participants.tsv", sep="\t", index=False)
    select_rois().to_csv(out / "rois.tsv", sep="\t", index=False)
    return table


def write_stand_in(out: Path, seed: int = 5917) -> Path:
    """Labels, ROI table and a SYNTHETIC cohort in ds005917's fMRIPrep layout under ``out/fmriprep``."""
    from analysis.bids import bold_paths
    from analysis.simulate.fmri import SPACE, FmriDesign, write_dataset

    table = write_labels(out)
    n, n_responders = len(table), int(table["responder"].sum())
    derivatives = out / "fmriprep"
    with tempfile.TemporaryDirectory() as scratch:
        cohort = Path(scratch) / "cohort"
        write_dataset(cohort, FmriDesign(n_participants=n, responder_fraction=n_responders / n, seed=seed))
        synthetic = pd.read_csv(cohort / "participants.tsv", sep="\t")
        if int(synthetic["responder"].sum()) != n_responders:
            raise RuntimeError("the generator's responder count differs from the real design's")
        # synthetic responders stand in for the real responders, in order; the same for the others
        mapping = {}
        for label in (1, 0):
            mapping.update(zip(synthetic.loc[synthetic["responder"] == label, "participant_id"],
                               table.loc[table["responder"] == label, "participant_id"]))
        runs = rest_runs(table["participant_id"].tolist())
        for source_id, target_id in mapping.items():
            source = bold_paths(cohort, source_id, space=SPACE)
            for run in runs[target_id] or ["01"]:
                target = bold_paths(derivatives, target_id, space=SPACE, session=SESSION, run=run)
                target["bold"].parent.mkdir(parents=True, exist_ok=True)
                for kind in ("bold", "mask", "confounds"):
                    shutil.copyfile(source[kind], target[kind])
                sidecar = source["bold"].with_name(source["bold"].name.replace(".nii.gz", ".json"))
                shutil.copyfile(sidecar, target["bold"].with_name(target["bold"].name.replace(".nii.gz", ".json")))
        description = json.loads((cohort / "dataset_description.json").read_text(encoding="utf-8"))
        description["Name"] = ("SYNTHETIC stand-in in OpenNeuro ds005917's fMRIPrep layout (NOT real participants; "
                               "real responder labels)")
        (derivatives / "dataset_description.json").write_text(json.dumps(description, indent=2, sort_keys=True) + "\n",
                                                              encoding="utf-8")
    return derivatives


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("labels").add_argument("out")
    stand_in = commands.add_parser("stand-in")
    stand_in.add_argument("out")
    stand_in.add_argument("--seed", type=int, default=5917)
    args = parser.parse_args(argv)
    if args.command == "labels":
        table = write_labels(Path(args.out))
        print(f"wrote {args.out}/fmri_participants.tsv ({len(table)} participants, {int(table['responder'].sum())} "
              f"responders, real labels) and {args.out}/rois.tsv")
    else:
        derivatives = write_stand_in(Path(args.out), args.seed)
        print(f"wrote a SYNTHETIC stand-in in ds005917's fMRIPrep layout: {derivatives}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
