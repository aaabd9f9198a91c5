# ---------------------------------------------------------------- fMRI prediction (claim fmri-prediction)
FMRI = config["fmri"]
FMRI_ROOT = FMRI["root"]
if FMRI["mode"] == "synthetic":
    FMRI_SUBJECTS = [f"sub-{index:03d}" for index in range(1, int(FMRI["synthetic"]["n_participants"]) + 1)]
else:  # real derivatives: every participant the table needs must be on disk
    from analysis.preflight import fmri_participants

    FMRI_SUBJECTS = preflight(fmri_participants, FMRI_ROOT, FMRI["participants"], space=FMRI["space"],
                              session=FMRI.get("session"), run=FMRI.get("run"))
    # what the analysis can detect is simulated at this run's own size and share of responders
    _labels = [line.split("\t") for line in Path(FMRI["participants"]).read_text(encoding="utf-8").splitlines()]
    _responder = _labels[0].index("responder")
    config["simulations"]["fmri-prediction"].update(
        n_participants=len(FMRI_SUBJECTS),
        responder_fraction=sum(row[_responder] == "1" for row in _labels[1:]) / len(FMRI_SUBJECTS))


def fmri_inputs(participants):
    """Input files of `participants` (a synthetic cohort: its participants.tsv, see dwi_inputs)."""
    if FMRI["mode"] == "synthetic":
        return [FMRI["participants"]]
    return [path for participant in participants for path in bold_files(participant).values()]


FMRI_BATCHES = make_batches(FMRI_SUBJECTS, FMRI.get("batch_size", 1), lambda participant: participant)


def bold_files(participant):
    return {kind: str(path) for kind, path in bold_paths(FMRI_ROOT, participant, space=FMRI["space"],
                                                                 session=FMRI.get("session"),
                                                                 run=FMRI.get("run")).items()}


if FMRI["mode"] == "synthetic":

    rule simulate_fmri:
        """Generate the SYNTHETIC baseline fMRI cohort (deterministic from the seed)."""
        input:
            "analysis/simulate/fmri.py",
        output:
            FMRI["participants"],
            FMRI["rois"],
            f"{FMRI_ROOT}/dataset_description.json",
            f"{FMRI_ROOT}/truth/latent_parameters.tsv",  # the planted parameters (the chapter's shortcut check)
        params:
            n=FMRI["synthetic"]["n_participants"],
            seed=FMRI["synthetic"]["seed"],
        message:
            "Simulating the synthetic fMRI cohort ({params.n} participants, seed {params.seed})"
        shell:
            f"python -m analysis simulate-fmri {FMRI_ROOT} --n {{params.n}} --seed {{params.seed}}"


def batch_paths(batch, kind):
    return " ".join(bold_files(participant)[kind] for participant in FMRI_BATCHES[batch])


rule fmri_timeseries:
    """Confound-cleaned ROI time series (nilearn) of a batch of participants (config
    fmri.batch_size; 1 = one job per participant)."""
    input:
        images=lambda wildcards: fmri_inputs(FMRI_BATCHES[wildcards.batch]),
        rois=FMRI["rois"],
        code="analysis/imaging/fmri.py",
    output:
        series=directory(f"{WORK}/fmri/timeseries/{{batch}}"),
        qc=f"{WORK}/fmri/timeseries/{{batch}}_qc.tsv",
    wildcard_constraints:
        batch="(sub-[A-Za-z0-9]+)|(batch-[0-9]+)",
    message:
        "Extracting ROI time series: {wildcards.batch}"
    params:
        participants=lambda wildcards: " ".join(FMRI_BATCHES[wildcards.batch]),
        bold=lambda wildcards: batch_paths(wildcards.batch, "bold"),
        mask=lambda wildcards: batch_paths(wildcards.batch, "mask"),
    shell:
        "python -m analysis fmri-timeseries --bold {params.bold} --mask {params.mask} --rois {input.rois}"
        " --participant {params.participants} --out-dir {output.series} --qc {output.qc}"


rule collect_fmri:
    input:
        qc=expand(f"{WORK}/fmri/timeseries/{{batch}}_qc.tsv", batch=list(FMRI_BATCHES)),
        code="analysis/imaging/collect.py",
    output:
        f"{WORK}/fmri/qc.tsv",
    run:
        collect_step(collect_fmri, list(input.qc), output[0])  # in the Snakemake process, as collect_dti
