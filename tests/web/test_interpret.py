"""The /interpret API: who may label, the blind second look, chips, the third look, agreement."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from models.interpretation import load_package
from tests.web.interpretation_fixtures import HOSTILE_NAME, RUN_ID, interpretation_workspace
from web.app import create_app

API = "/api/v1/interpret"


@pytest.fixture
def service(tmp_path):
    workspace = interpretation_workspace(tmp_path / "ws")
    app = create_app(workspace)
    store = app.state.store
    headers = {
        name: {"Authorization": f"Bearer {store.create_token(name, role)}"}
        for name, role in (("alice", "interpreter"), ("bob", "interpreter"),
                           ("rev", "reviewer"), ("team-a", "uploader"))
    }  # fmt: skip
    with TestClient(app) as client:
        yield client, headers, load_package(workspace / "runs/2025" / RUN_ID / "interpretation")
    store.close()


def _label_all(client, headers, classes=lambda sample_id: "forest"):
    given = []
    while not (point := client.get(f"{API}/{RUN_ID}/next", headers=headers).json()).get("done"):
        sent = {"sample_id": point["sample_id"], "reference_class": classes(point["sample_id"])}
        assert client.post(f"{API}/{RUN_ID}/labels", headers=headers, json=sent).status_code == 201
        given.append(point["sample_id"])
    return given, point["progress"]


def test_the_page_and_its_script_need_nothing_from_the_internet(service):
    client, _, _ = service
    page = client.get("/interpret")
    script = client.get("/static/interpret.js").text
    assert page.status_code == 200 and "/static/interpret.js" in page.text
    for text in (page.text, script):
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script


@pytest.mark.parametrize(("who", "code"), [(None, 401), ("team-a", 403)])
def test_only_interpreter_reviewer_and_admin_tokens_interpret(service, who, code):
    client, headers, _ = service
    answer = client.get(f"{API}/runs", headers=headers.get(who, {}))
    assert answer.status_code == code
    assert client.post(f"{API}/{RUN_ID}/labels", headers=headers.get(who, {}),
                       json={"sample_id": 1, "reference_class": "forest"}).status_code == code  # fmt: skip


def test_a_point_carries_its_chips_profile_and_classes_but_no_label_or_map_class(service):
    client, headers, package = service
    point = client.get(f"{API}/{RUN_ID}/points/1", headers=headers["alice"]).json()

    assert [c["name"] for c in point["chips"]] == ["composite_true", "drone_1"]
    assert point["chips"][1]["caption"] == f"Drone orthomosaic {HOSTILE_NAME}"
    assert point["chips"][1]["unit_fraction"] == pytest.approx(10 / 30)
    assert point["profile"] == [
        {"date": "2024-11-15", "ndvi": 0.25},
        {"date": "2025-02-08", "ndvi": 0.7},
    ]
    assert [c["label"] for c in point["classes"]][:2] == ["Opium poppy", "Cannabis"]
    assert "map_class" not in str(point) and "stratum" not in str(point)
    chip = client.get(point["chips"][1]["url"], headers=headers["alice"])
    assert chip.status_code == 200 and chip.headers["content-type"] == "image/png"
    assert chip.content[:4] == b"\x89PNG"
    assert client.get(point["chips"][1]["url"]).status_code == 401
    far = client.get(f"{API}/{RUN_ID}/points/8/chips/drone_1.png", headers=headers["alice"])
    assert far.status_code == 404  # the orthomosaic does not cover point 8


def test_every_point_once_then_the_overlap_blind_to_a_second_interpreter(service):
    client, headers, package = service
    first, _ = _label_all(client, headers["alice"])
    second, progress = _label_all(
        client, headers["bob"], classes=lambda i: "water" if i == min(package.overlap) else "forest"
    )

    assert sorted(first) == list(range(1, 9))
    assert sorted(second) == sorted(package.overlap) and len(second) == 2
    assert progress == {"total": 8, "labelled": 8, "overlap_total": 2, "overlap_done": 2,
                        "interpreters": 2, "adjudicated": 0, "mine": 2}  # fmt: skip
    mine = client.get(f"{API}/{RUN_ID}/agreement", headers=headers["bob"]).json()
    assert mine["for_reviewers"] and mine["progress"] == progress
    # an interpreter never sees another's labels, nor figures that tell them
    for figure in ("disagreements", "n_disagreements", "per_class", "overall", "kappa"):
        assert figure not in mine
    review = client.get(f"{API}/{RUN_ID}/agreement", headers=headers["rev"]).json()
    assert review["disagreements"] == [{"sample_id": min(package.overlap), "first": "forest",
                                        "second": "water", "unsure": False, "adjudicated": False}]  # fmt: skip


def test_the_second_look_cannot_learn_the_first_label_nor_follow_it(service):
    client, headers, package = service
    _label_all(client, headers["alice"], classes=lambda i: "forest")
    overlap = min(package.overlap)
    shown_first = client.get(f"{API}/{RUN_ID}/points/{overlap}", headers=headers["alice"]).json()
    before = client.get(f"{API}/{RUN_ID}/agreement", headers=headers["bob"]).json()
    point = client.get(f"{API}/{RUN_ID}/next", headers=headers["bob"]).json()
    while point["sample_id"] != overlap:  # the other overlap point first, if it comes first
        sent = {"sample_id": point["sample_id"], "reference_class": "forest"}
        client.post(f"{API}/{RUN_ID}/labels", headers=headers["bob"], json=sent)
        point = client.get(f"{API}/{RUN_ID}/next", headers=headers["bob"]).json()
    # what bob is shown of the point is what alice was shown: no label, no map class
    assert {k: v for k, v in point.items() if k != "progress"} == {
        k: v for k, v in shown_first.items() if k != "progress"
    }
    sent = {"sample_id": overlap, "reference_class": "water"}
    assert (
        client.post(f"{API}/{RUN_ID}/labels", headers=headers["bob"], json=sent).status_code == 201
    )
    after = client.get(f"{API}/{RUN_ID}/agreement", headers=headers["bob"]).json()
    # the answers before and after bob's look differ in progress only: nothing to compare
    assert {k: v for k, v in before.items() if k != "progress"} == {
        k: v for k, v in after.items() if k != "progress"
    }
    # and neither look can be changed now to agree with the other
    follow = {"sample_id": overlap, "reference_class": "forest"}
    assert (
        client.post(f"{API}/{RUN_ID}/labels", headers=headers["bob"], json=follow).status_code
        == 409
    )
    back = {"sample_id": overlap, "reference_class": "water"}
    assert (
        client.post(f"{API}/{RUN_ID}/labels", headers=headers["alice"], json=back).status_code
        == 409
    )
    labels = client.app.state.store.get_labels(RUN_ID)
    looks = labels[labels["sample_id"] == overlap].set_index("interpreter")["reference_class"]
    assert looks.to_dict() == {"alice": "forest", "bob": "water"}
    review = client.get(f"{API}/{RUN_ID}/agreement", headers=headers["rev"]).json()
    assert review["n_disagreements"] == 1
    # a point one interpreter alone has labelled can still be corrected by them
    single = next(i for i in range(1, 9) if i not in package.overlap)
    again = {"sample_id": single, "reference_class": "water"}
    assert (
        client.post(f"{API}/{RUN_ID}/labels", headers=headers["alice"], json=again).status_code
        == 201
    )


def test_the_third_look_is_for_reviewers_and_settles_the_point(service):
    client, headers, _ = service
    third = {"sample_id": 3, "reference_class": "opium_poppy", "adjudicate": True}
    assert (
        client.post(f"{API}/{RUN_ID}/labels", headers=headers["alice"], json=third).status_code
        == 403
    )
    assert (
        client.post(f"{API}/{RUN_ID}/labels", headers=headers["rev"], json=third).status_code == 201
    )
    labels = client.app.state.store.get_labels(RUN_ID)
    assert labels[["sample_id", "interpreter", "kind"]].values.tolist() == [
        [3, "rev", "adjudication"]
    ]


@pytest.mark.parametrize(
    ("sent", "code"),
    [({"sample_id": 99, "reference_class": "forest"}, 404),
     ({"sample_id": 1, "reference_class": "banana"}, 422),
     ({"sample_id": "one", "reference_class": "forest"}, 422)],
)  # fmt: skip
def test_a_bad_label_is_refused_and_nothing_is_stored(service, sent, code):
    client, headers, _ = service
    answer = client.post(f"{API}/{RUN_ID}/labels", headers=headers["alice"], json=sent)
    assert answer.status_code == code
    assert client.app.state.store.get_labels(RUN_ID).empty


def test_an_unknown_run_is_not_found(service):
    client, headers, _ = service
    assert client.get(f"{API}/2025-nope/next", headers=headers["alice"]).status_code == 404
    assert client.get(f"{API}/../../etc/next", headers=headers["alice"]).status_code == 404


def test_a_damaged_package_is_left_out_of_the_list_and_named_in_the_answer(service, caplog):
    client, headers, package = service
    manifest = package.folder / "package.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"crs"', '"crs_"'))

    listed = client.get(f"{API}/runs", headers=headers["alice"])
    assert listed.status_code == 200 and listed.json() == []
    assert "package.json: no 'crs'" in caplog.text
    point = client.get(f"{API}/{RUN_ID}/next", headers=headers["alice"])
    assert point.status_code == 500
    assert RUN_ID in point.json()["detail"] and str(package.folder) not in point.text
