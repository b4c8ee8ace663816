"""A test interpreter: labels the reference sample through the /interpret HTTP API from the truth.

It reads the synthetic region's true land cover under each point the API hands
it, errs at a configurable rate (``synthetic.interpret_reference``: a wrong label
is another class, uniformly), and keeps what it sent, so a test can compute the
agreement itself and compare it with admon's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point

from synthetic import interpret_reference

API = "/api/v1/interpret"


@dataclass
class TruthInterpreter:
    """One person at the /interpret page, as HTTP calls."""

    client: object
    """A ``TestClient`` (or ``httpx.Client``) of the service."""
    token: str
    truth: Path
    """``truth/landcover_<year>.tif`` of the synthetic region."""
    error_rate: float = 0.0
    seed: int = 0
    sent: dict[int, str] = field(default_factory=dict)
    """``sample_id -> class`` this interpreter labelled."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def true_class(self, lon: float, lat: float, sample_id: int, error_rate: float) -> str:
        point = gpd.GeoDataFrame({"sample_id": [sample_id]}, geometry=[Point(lon, lat)], crs=4326)
        labelled = interpret_reference(point, self.truth, error_rate=error_rate,
                                       seed=self.seed * 1_000_003 + sample_id)  # fmt: skip
        return str(labelled["reference_class"].iloc[0])

    def label_all(self, run_id: str) -> dict:
        """Label every point the API gives until it says done; return the final progress."""
        while True:
            point = self.client.get(f"{API}/{run_id}/next", headers=self.headers).json()
            if point.get("done"):
                return point["progress"]
            sample_id = point["sample_id"]
            cls = self.true_class(point["lon"], point["lat"], sample_id, self.error_rate)
            answer = self.client.post(f"{API}/{run_id}/labels", headers=self.headers,
                                      json={"sample_id": sample_id, "reference_class": cls})  # fmt: skip
            assert answer.status_code == 201, answer.text
            self.sent[sample_id] = cls

    def settle(self, run_id: str) -> list[int]:
        """As a reviewer: give every disagreement its third look, from the truth."""
        agreement = self.client.get(f"{API}/{run_id}/agreement", headers=self.headers).json()
        settled = []
        for item in agreement["disagreements"]:
            point = self.client.get(
                f"{API}/{run_id}/points/{item['sample_id']}", headers=self.headers
            ).json()
            cls = self.true_class(point["lon"], point["lat"], item["sample_id"], 0.0)
            answer = self.client.post(f"{API}/{run_id}/labels", headers=self.headers,
                                      json={"sample_id": item["sample_id"], "reference_class": cls,
                                            "adjudicate": True})  # fmt: skip
            assert answer.status_code == 201, answer.text
            settled.append(item["sample_id"])
        return settled
