"""Fixtures of the maps tests: published runs and a headless chromium with the network off."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_ARGS as BASE_CHROMIUM_ARGS
from tests.browser import chromium_executable
from tests.maps.builders import RunInputs, make_run_inputs


@pytest.fixture
def run_inputs(tmp_path: Path) -> RunInputs:
    return make_run_inputs(tmp_path / "workspace")


@pytest.fixture(scope="session")
def published_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunInputs, dict]:
    """One fully published synthetic run (every input), shared by the read-only tests."""
    import maps

    inputs = make_run_inputs(tmp_path_factory.mktemp("pub") / "workspace")
    return inputs, maps.publish_run(inputs.run_dir, **inputs.kwargs())


ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# file:// pages only: loopback goes to the closed proxy as well
CHROMIUM_ARGS = [*BASE_CHROMIUM_ARGS, "--proxy-bypass-list=<-loopback>"]


@pytest.fixture(scope="session")
def browser(playwright_session):
    """Debian's headless chromium driven by Playwright (no browser download), network off."""
    executable = chromium_executable()
    instance = playwright_session.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@dataclass
class PageLog:
    """What a page did while loading: console messages, page errors, requests."""

    console: list[tuple[str, str]]
    errors: list[str]
    requests: list[str]
    failed: list[str]

    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"] + self.errors

    def off_machine_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:"))]


@pytest.fixture
def open_page(browser):
    """Open a local file in a fresh page; return (page, PageLog)."""
    contexts = []

    def _open(path: Path, viewport: tuple[int, int] = (1280, 860)):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = context.new_page()
        log = PageLog([], [], [], [])
        page.on("console", lambda m: log.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: log.errors.append(str(e)))
        page.on("request", lambda r: log.requests.append(r.url))
        page.on("requestfailed", lambda r: log.failed.append(r.url))
        page.goto(path.resolve().as_uri(), wait_until="load")
        return page, log

    yield _open
    for context in contexts:
        context.close()
