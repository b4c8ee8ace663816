"""The upload page in a real browser (Debian's headless chromium through Playwright).

A live uvicorn server on a free port serves the app; the page is driven the way
a survey team uses it: sign in with the token on /login, pick the file, press
Upload, read the table.
"""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM_ARGS, chromium_executable, served, sign_in
from web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium(playwright_session):
    executable = chromium_executable()
    browser = playwright_session.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def live_service(tmp_path):
    """(base URL, app) of the service running in a thread."""
    app = create_app(tmp_path / "ws")
    with served(app) as base:
        yield base, app
    app.state.store.close()


def _submit(page, base, token, name, content, form=None):
    sign_in(page, base, token)
    page.goto(f"{base}/upload")
    if form is not None:  # the optional form profile field: [{"name", "mimeType", "buffer"}]
        page.set_input_files("#form", files=form)
    page.set_input_files(
        "#file", files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}]
    )
    page.click("button[type=submit]")
    page.wait_for_function(
        "() => !document.getElementById('summary').textContent.startsWith('Uploading')"
        " && document.getElementById('summary').textContent.length > 0",
        timeout=20000,
    )
    rows = page.eval_on_selector_all(
        "#report tbody tr", "trs => trs.map(tr => [...tr.cells].map(td => td.textContent))"
    )
    return page.text_content("#summary"), rows


def test_a_team_uploads_a_file_and_reads_the_report_table(chromium, live_service, fieldkit):
    base, app = live_service
    token = app.state.store.create_token("team-a", "uploader")
    page = chromium.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    summary, rows = _submit(page, base, token, "kobo_export.csv", fieldkit.kobo_csv())

    assert "2 rows accepted, 1 rejected" in summary
    assert len(rows) == 1
    row, field, message = rows[0]
    assert row == "2" and field.lower().endswith("crop") and "banana" in message
    assert problems == []

    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["admon_session"]["httpOnly"] and cookies["admon_session"]["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find(token) == -1  # scripts never see the token
    assert "team-a" in page.text_content("#session")

    page.context.clear_cookies()
    assert "Unknown" in sign_in(page, base, "admon_wrong")
    summary, rows = _submit(page, base, "admon_wrong", "kobo_export.csv", fieldkit.kobo_csv())
    assert "HTTP 401" in summary and rows == []
    page.close()


def test_the_page_shows_a_refusal_and_escapes_server_text(chromium, live_service, fieldkit):
    base, app = live_service
    token = app.state.store.create_token("team-a", "uploader")
    page = chromium.new_page()
    hostile = fieldkit.FieldPlot("<b>x</b>", "<img src=x onerror=alert(1)>", "cultivated",
                                 "2025-01-14", "team-a", 97.1, 20.2)  # fmt: skip

    summary, rows = _submit(page, base, token, "p.geojson", fieldkit.geojson([hostile]))

    assert "HTTP 422" in summary
    assert any("<img src=x onerror=alert(1)>" in message for _, _, message in rows)
    assert page.query_selector("#report img") is None  # shown as text, never as markup
    page.close()


def test_the_form_profile_field_sends_the_profile_and_rows_name_their_sheet(chromium, live_service):
    """A team's own question names, read through the profile chosen in the page's field."""
    base, app = live_service
    token = app.state.store.create_token("team-a", "uploader")
    page = chromium.new_page()
    profile = [{"name": "team.toml", "mimeType": "application/toml",
                "buffer": b'[questions]\ncrop = "crop_grown"\n[values.crop]\nopium_poppy = ["1"]\n'}]  # fmt: skip
    csv = b"field_code,crop_grown,lon,lat\nT-1,1,97.1,20.1\nT-2,9,97.2,20.2\n"
    summary, rows = _submit(page, base, token, "fields.csv", csv, form=profile)
    assert "1 rows accepted, 1 rejected" in summary
    assert rows[0][0] == "2" and rows[0][1] == "crop_grown" and "'9'" in rows[0][2]
    assert app.state.store.team_form("team-a").questions["crop"] == "crop_grown"
    page.close()
