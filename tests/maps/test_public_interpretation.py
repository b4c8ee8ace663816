"""The public report tells how the reference labels were made, without a point or a name."""

from __future__ import annotations

import json

from maps.public import public_manifest

MANIFEST = {
    "run_id": "2025-abc",
    "year": 2025,
    "inputs": [{"path": "field/2025/survey_plots.gpkg", "sha256": "0" * 64}],
    "results": {
        "interpretation": {
            "source": "store",
            "n_points": 120,
            "n_labelled": 120,
            "labelled_share": 1.0,
            "complete": True,
            "interpreters": 2,
            "agreement": {
                "n_points": 12,
                "overall": 0.8333,
                "kappa": 0.71,
                "per_class": [{"class": "opium_poppy", "agreement": 0.8, "kappa": 0.7}],
                "disagreements": [{"sample_id": 17, "first": "forest", "second": "opium_poppy"}],
                "n_disagreements": 2,
            },
            "reference_sample": "/srv/shan/workspace/runs/2025/2025-abc/reference_sample.gpkg",
            "labelled_sample": "/srv/shan/workspace/runs/2025/2025-abc/reference_labelled.gpkg",
            "package": "/srv/shan/workspace/runs/2025/2025-abc/interpretation",
        }
    },
}


def test_the_public_manifest_keeps_the_agreement_figures_and_drops_points_and_paths():
    public = public_manifest(MANIFEST)
    shown = public["results"]["interpretation"]
    assert shown["agreement"]["overall"] == 0.8333 and shown["agreement"]["kappa"] == 0.71
    assert shown["agreement"]["n_disagreements"] == 2 and shown["n_labelled"] == 120
    text = json.dumps(public)
    for secret in ('disagreements"', "sample_id", "/srv/", "reference_sample"):
        assert secret not in text.replace('"n_disagreements"', "")
    assert "inputs" not in public


def test_a_run_without_interpretation_has_no_such_section():
    assert "results" not in public_manifest({"run_id": "x", "year": 2025})
