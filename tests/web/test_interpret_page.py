"""The interpret page in a real browser (Debian's chromium, network off), driven by the keyboard.

A live uvicorn server serves a workspace with one run's interpretation package;
the interpreter signs in on /login with the token (the page itself never sees
it), lands on the sample and labels with the keys, as they would with no
internet in a district office, under the service's Content-Security-Policy.
"""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_executable, served, sign_in
from tests.web.interpretation_fixtures import HOSTILE_NAME, RUN_ID, interpretation_workspace
from web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium(playwright_session):
    browser = playwright_session.chromium.launch(
        executable_path=chromium_executable(), args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def live(tmp_path):
    app = create_app(interpretation_workspace(tmp_path / "ws"))
    with served(app) as base:
        yield base, app
    app.state.store.close()


def _point_shown(page) -> int:
    page.wait_for_function(
        "() => /^Point \\d+/.test(document.getElementById('point-title').textContent)"
    )
    return int(page.text_content("#point-title").split()[1])


def test_an_interpreter_labels_with_the_keyboard_and_every_label_is_stored(chromium, live):
    base, app = live
    store = app.state.store
    token = store.create_token("alice", "interpreter")
    page = chromium.new_page()
    problems, requests = [], []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))

    page.goto(f"{base}/interpret")
    page.wait_for_selector("#session a")  # not signed in: a link to /login, no point
    assert "/login?next=/interpret" in page.get_attribute("#session a", "href")
    problems.clear()  # the page's 401 from /api/v1/session before signing in
    assert sign_in(page, base, token, "/interpret") == ""
    assert page.url == f"{base}/interpret"
    first = _point_shown(page)
    assert "alice (interpreter)" in page.text_content("#session")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#chips img')].every(i => i.naturalWidth > 0)"
    )
    chips = page.eval_on_selector_all(
        "#chips img", "imgs => imgs.map(i => [i.naturalWidth, i.alt])"
    )
    assert chips[0][0] == 48
    page.keyboard.press("4")  # forest
    page.wait_for_function(
        f"() => !document.getElementById('point-title').textContent.startsWith('Point {first} ')"
    )
    second = _point_shown(page)
    page.keyboard.press("u")
    assert page.is_checked("#unsure")
    page.keyboard.press("1")  # opium poppy, unsure
    page.wait_for_function(
        f"() => !document.getElementById('point-title').textContent.startsWith('Point {second} ')"
    )
    _point_shown(page)

    labels = store.get_labels(RUN_ID).set_index("sample_id")
    assert labels.loc[first, "reference_class"] == "forest" and not labels.loc[first, "unsure"]
    assert labels.loc[second, "reference_class"] == "opium_poppy" and labels.loc[second, "unsure"]
    assert "2 of 8 points labelled" in page.text_content("#progress")
    assert all(url.startswith(base) or url.startswith("blob:") or url.startswith("data:")
               for url in requests), requests  # fmt: skip
    assert problems == []
    page.close()


def test_text_from_files_is_shown_as_text_never_as_markup(chromium, live):
    base, app = live
    token = app.state.store.create_token("alice", "interpreter")
    page = chromium.new_page()
    assert sign_in(page, base, token, "/interpret") == ""
    page.wait_for_selector("#chips figcaption")
    page.wait_for_function("() => document.querySelectorAll('#chips figure').length > 0")
    title = page.title()
    while HOSTILE_NAME not in (page.text_content("#chips") or ""):  # points 1-3 have the drone chip
        shown = _point_shown(page)
        page.keyboard.press("4")
        page.wait_for_function(
            f"() => !document.getElementById('point-title').textContent.startsWith('Point {shown} ')"
        )
    assert HOSTILE_NAME in page.text_content("#chips")
    assert page.query_selector("#chips figcaption img") is None
    assert page.title() == title  # the onerror in the name never ran
    page.close()
