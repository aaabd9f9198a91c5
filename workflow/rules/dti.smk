# ---------------------------------------------------------------- DTI trial (claim dti-neuroplasticity)
DTI = config["dti"]
DTI_ROOT = DTI["root"]
DTI_SESSIONS = ["pre", "post"]
DTI_ENTITIES = DTI.get("entities") or {}  # acq / dir / run: which acquisition, when QSIPrep wrote several
if DTI["mode"] == "synthetic":
    DTI_SUBJECTS = [f"sub-{index:03d}" for index in range(1, int(DTI["synthetic"]["n_participants"]) + 1)]
else:  # real derivatives: every participant and session the table needs must be on disk
    from analysis.preflight import dti_participants, dti_spaces

    DTI_SUBJECTS = preflight(dti_participants, DTI_ROOT, DTI["participants"], DTI_SESSIONS, space=DTI["space"],
                             entities=DTI_ENTITIES)
    preflight(dti_spaces, DTI_ROOT, DTI_SUBJECTS, DTI_SESSIONS, DTI["atlas"], space=DTI["space"],
              entities=DTI_ENTITIES)
    # what the analysis can detect is simulated at this run's own size, not the published one
    config["simulations"]["dti-neuroplasticity"]["n_participants"] = len(DTI_SUBJECTS)


def dwi_files(participant, session):
    return {kind: str(path) for kind, path in dwi_paths(DTI_ROOT, participant, session, space=DTI["space"],
                                                            entities=DTI_ENTITIES).items()}


def dwi_inputs(items):
    """Input files of the sessions `items`. A synthetic cohort is written in one piece (into a
    temporary folder, then renamed), so its participants.tsv stands for all of its images: listing
    thousands of generated files as outputs makes Snakemake's DAG quadratic in the cohort size."""
    if DTI["mode"] == "synthetic":
        return [DTI["participants"]]
    return [path for participant, session in items for path in dwi_files(participant, session).values()]


DTI_ITEMS = [(participant, session) for participant in DTI_SUBJECTS for session in DTI_SESSIONS]
ALL_DWI_FILES = dwi_inputs(DTI_ITEMS)
DTI_BATCHES = make_batches(DTI_ITEMS, DTI.get("batch_size", 1), lambda item: f"{item[0]}_ses-{item[1]}")

if DTI["mode"] == "synthetic":

    rule simulate_dti:
        """Generate the SYNTHETIC trial cohort (deterministic from the seed)."""
        input:
            "analysis/simulate/dti.py",
        output:
            DTI["participants"],
            f"{DTI_ROOT}/dataset_description.json",
            DTI["atlas"],
            DTI["atlas_labels"],
            f"{DTI_ROOT}/truth/true_roi_md.tsv",  # the planted values (the chapter's shortcut check)
        params:
            n=DTI["synthetic"]["n_participants"],
            seed=DTI["synthetic"]["seed"],
            # optional (benchmarks): a finer grid, same anatomy in mm; 1 = the default images
            scale=("" if int(DTI["synthetic"].get("resolution_scale", 1)) == 1
                   else f" --resolution-scale {int(DTI['synthetic']['resolution_scale'])}"),
        message:
            "Simulating the synthetic DTI trial ({params.n} participants, seed {params.seed})"
        shell:
            f"python -m analysis simulate-dti {DTI_ROOT} --n {{params.n}} --seed {{params.seed}}{{params.scale}}"


rule discover_dti:
    input:
        participants=DTI["participants"],
        files=ALL_DWI_FILES,
        code="analysis/imaging/discovery.py",
    output:
        manifest=f"{WORK}/dti/manifest.tsv",
        inventory=f"{WORK}/dti/inventory.tsv",
    params:
        entities=json.dumps(DTI_ENTITIES, sort_keys=True),
    message:
        "Finding the diffusion data with pybids"
    shell:
        f"python -m analysis discover-dti --root {DTI_ROOT} --participants {{input.participants}}"
        f" --space {DTI['space']} --entities {{params.entities:q}} --out {{output.manifest}}"
        " --inventory {output.inventory}"


rule dti_roi:
    """Tensor fit and ROI mean diffusivity for a batch of sessions (config dti.batch_size;
    1 = one job per participant and session)."""
    input:
        manifest=f"{WORK}/dti/manifest.tsv",
        files=lambda wildcards: dwi_inputs(DTI_BATCHES[wildcards.batch]),
        atlas=DTI["atlas"],
        labels=DTI["atlas_labels"],
        code="analysis/imaging/dti.py",
    output:
        table=f"{WORK}/dti/roi/{{batch}}_roi-md.tsv",
        qc=f"{WORK}/dti/roi/{{batch}}_qc.tsv",
    wildcard_constraints:
        batch="(sub-[A-Za-z0-9]+_ses-(pre|post))|(batch-[0-9]+)",
    params:
        pairs=lambda wildcards: " ".join(f"{participant}:{session}"
                                         for participant, session in DTI_BATCHES[wildcards.batch]),
    message:
        "Fitting the diffusion tensor: {wildcards.batch}"
    shell:
        "python -m analysis dti-roi --manifest {input.manifest} --items {params.pairs}"
        " --atlas {input.atlas} --labels {input.labels} --out {output.table} --qc {output.qc}"


rule collect_dti:
    input:
        tables=expand(f"{WORK}/dti/roi/{{batch}}_roi-md.tsv", batch=list(DTI_BATCHES)),
        qc=expand(f"{WORK}/dti/roi/{{batch}}_qc.tsv", batch=list(DTI_BATCHES)),
        code="analysis/imaging/collect.py",
    output:
        table=f"{WORK}/dti/roi_md.tsv",
        qc=f"{WORK}/dti/qc.tsv",
    message:
        "Collecting regional MD of {params.sessions} sessions"
    params:
        sessions=len(DTI_SUBJECTS) * len(DTI_SESSIONS),
    run:
        # in the Snakemake process: a job of its own paid interpreter start-up and pandas again
        # (`python -m analysis collect-dti` does the same from a shell)
        collect_step(collect_dti, list(input.tables), list(input.qc), output.table, output.qc)
