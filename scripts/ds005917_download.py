"""Download the images of OpenNeuro ds005917 (version 1.0.1) that the fMRI route needs: the
baseline (ses-b0) resting-state runs and anatomical images of the participants in the labels table.

    .venv-data/bin/python scripts/ds005917_download.py data/ds005917-derivatives/fmri_participants.tsv \
        data/ds005917-images

Runs in its own environment with openneuro-py (``make data-ds005917`` creates it; the book's
environment does not carry it). Needs network; never run by ``make book`` or CI. Interrupted
downloads resume when run again.
"""
import csv
import sys

import openneuro

DATASET, TAG = "ds005917", "1.0.1"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    labels, target = argv
    with open(labels, encoding="utf-8", newline="") as stream:
        participants = [row["participant_id"] for row in csv.DictReader(stream, delimiter="\t")]
    include = [pattern for participant in participants
               for pattern in (f"{participant}/ses-b0/func/*task-rest*", f"{participant}/ses-b0/anat/*")]
    openneuro.download(dataset=DATASET, tag=TAG, target_dir=target, include=include)
    print(f"downloaded {DATASET} {TAG}: baseline rest and anatomy of {len(participants)} participants into {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
