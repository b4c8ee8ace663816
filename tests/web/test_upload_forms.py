"""The /upload form field and the team's stored form profile over HTTP."""

from __future__ import annotations

PROFILE = b"""[questions]
plot_id = "field_code"
crop = "crop_grown"
area = "area_rai"
district_id = "township"

[units]
area = "rai"

[values.crop]
opium_poppy = ["1"]
cannabis = ["2"]
"""
CSV = (
    b"field_code,crop_grown,area_rai,township,visit_date,lon,lat\n"
    b"T-1,1,2.5,D01,2025-01-14,97.161,20.811\n"
    b"T-2,2,0.75,D01,2025-01-14,97.163,20.812\n"
)


def post(client, headers, name, content, form=None):
    files = [("file", (name, content, "text/csv"))]
    if form is not None:
        files.append(("form", ("hopong.toml", form, "application/toml")))
    return client.post("/api/v1/uploads", files=files, headers=headers)


def test_a_profile_sent_once_serves_the_team_after(client, tokens, app) -> None:
    refused = post(client, tokens["uploader"], "fields.csv", CSV)
    assert refused.status_code == 422
    assert 'crop = "crop_grown"' in refused.json()["detail"]

    stored = post(client, tokens["uploader"], "fields.csv", CSV, form=PROFILE)
    assert stored.status_code == 201, stored.json()
    assert (stored.json()["accepted"], stored.json()["rejected"]) == (2, 0)

    later = post(client, tokens["uploader"], "more.csv", CSV.replace(b"T-", b"U-"))
    assert later.status_code == 201
    plots = app.state.store.get_plots(team="team-a")
    assert sorted(plots["plot_id"]) == ["T-1", "T-2", "U-1", "U-2"]
    assert plots["measured_area_ha"].round(3).tolist() == [0.4, 0.12, 0.4, 0.12]
    # another team's uploads do not see team-a's profile
    other = post(client, tokens["other_uploader"], "fields.csv", CSV.replace(b"T-", b"V-"))
    assert other.status_code == 422


def test_a_broken_profile_is_422_naming_the_key(client, tokens) -> None:
    response = post(
        client, tokens["uploader"], "fields.csv", CSV, form=b"[units]\narea = 'bigha'\n"
    )
    assert response.status_code == 422
    assert "units.area" in response.json()["detail"]
