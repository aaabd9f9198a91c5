"""The public API named in DESIGN.md is importable from the top-level package."""
import inspect

import analysis



def test_public_names_and_signatures():
    assert inspect.signature(analysis.random_effects).parameters["method"].default == "REML"
    proportions = inspect.signature(analysis.pool_proportions).parameters
    assert proportions["method"].default == "REML" and proportions["transform"].default == "logit"
    md = inspect.signature(analysis.roi_mean_md).parameters
    assert list(md)[:4] == ["dwi", "bvals", "bvecs", "atlas"] and "mask" in md and "labels" in md
    assert list(inspect.signature(analysis.fit_interactions).parameters)[:2] == ["participants", "roi_md"]
    prediction = inspect.signature(analysis.predict_response).parameters
    assert prediction["random_state"].default == 0 and prediction["n_permutations"].default == 1000
    assert set(analysis.__all__) >= {"random_effects", "pool_proportions", "roi_mean_md", "fit_interactions",
                                     "predict_response"}


def test_cite_box_names_only_the_citation_file_authors_with_version_and_commit(tmp_path):
    import yaml

    from analysis.build.pages import cite_markdown
    from analysis import paths

    cff = yaml.safe_load((paths.ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    box = cite_markdown(paths.ROOT / "CITATION.cff")
    for author in cff["authors"]:
        assert author["name"] in box
    assert f"Version {cff['version']}" in box and "```bibtex" in box and "DOI: not yet assigned" in box
    assert all(len(line) <= 80 for line in box.split("```bibtex")[1].split("```")[0].splitlines())
