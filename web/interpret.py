"""``/interpret``: label the reference sample point by point, offline, with a token.

The page (``GET /interpret``) and its script and stylesheet need nothing from the
internet. People sign in on ``/login`` (the session cookie; a label the page saves
carries the CSRF token); programs send a bearer token. The data come from the JSON
API below, for ``interpreter``, ``reviewer`` and ``admin`` tokens; every label is
saved in the store the moment it is made. The page's Content-Security-Policy runs
only the site's own script and styles (no inline code) and shows chips the script
fetched (``blob:``). Sample points and labels are exact locations: they are served
here to signed-in interpreters only and never published in the public site.

=========================================================  ===========================================
``GET  /api/v1/interpret/runs``                            samples waiting for labels, with progress
``GET  /api/v1/interpret/{run_id}/next``                   the caller's next point (blind) or ``done``
``GET  /api/v1/interpret/{run_id}/points/{sample_id}``     one point: chips, NDVI profile, classes
``GET  .../points/{sample_id}/chips/{name}.png``           a chip centred on the point
``POST /api/v1/interpret/{run_id}/labels``                 ``{sample_id, reference_class, unsure}``;
                                                           ``adjudicate: true`` (reviewers) is the third look
``GET  /api/v1/interpret/{run_id}/agreement``              agreement and kappa; disagreements for reviewers
=========================================================  ===========================================

No answer ever shows one interpreter another's label: the second look is blind. The
agreement figures (per-class counts, disagreements) are for reviewers and admins only:
read before and after one's own second look, they would tell an interpreter what the
first said. And once two interpreters have looked at a point, neither can change their
label (a third look, by a reviewer, settles a disagreement), so a second look cannot be
brought into line with a first afterwards.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from core.errors import AdmonError, InvalidInputError
from geo.chips import ChipSpec, chip_png, render_chip
from models.interpretation import (
    InterpretationPackage,
    find_packages,
    interpretations,
    interpreter_agreement,
    load_package,
    next_point,
    progress,
)
from models.store import Store, TokenInfo
from web.auth import caller
from web.security import DEFAULT_POLICY

__all__ = ["interpret_router", "INTERPRET_API"]

logger = logging.getLogger(__name__)

INTERPRET_API = "/api/v1/interpret"
_HERE = Path(__file__).parent
_REVIEW_ROLES = frozenset({"reviewer", "admin"})
_PRIVATE = {"Cache-Control": "no-store"}  # a point's exact location stays out of caches
PAGE_POLICY = DEFAULT_POLICY.replace("img-src 'self' data:", "img-src 'self' data: blob:")
"""The page's policy: the service default, plus chips fetched with the session (``blob:``)."""


class LabelIn(BaseModel):
    """A label as the page sends it."""

    sample_id: int
    reference_class: str = Field(min_length=1, max_length=64)
    unsure: bool = False
    adjudicate: bool = False


def _interpreter(request: Request, store: Store) -> TokenInfo:
    who = caller(request, store)
    if not who.may_interpret:
        raise HTTPException(
            403,
            detail=f"a {who.role} token cannot interpret; ask an admin for an interpreter token "
            "('admon token create --role interpreter --team <name>')",
        )
    return who


@functools.lru_cache(maxsize=16)
def _load(folder: str, mtime_ns: int) -> InterpretationPackage:
    return load_package(folder)


def _read(folder: Path) -> InterpretationPackage:
    """The package in ``folder`` (read again only when its ``package.json`` changed)."""
    return _load(str(folder), (folder / "package.json").stat().st_mtime_ns)


def _package(workspace: Path, run_id: str) -> InterpretationPackage:
    for folder in find_packages(workspace):
        if folder.parent.name == run_id:
            try:
                return _read(folder)
            except AdmonError as exc:
                logger.warning("interpretation package of run %s: %s", run_id, exc)
                raise HTTPException(
                    500,
                    detail=f"the interpretation package of run {run_id} cannot be read; "
                    "the server's log says why (rerun phase 1 of the run to write it again)",
                ) from None
    raise HTTPException(404, detail=f"no reference sample of run {run_id!r} to interpret")


def _point(package: InterpretationPackage, sample_id: int, labels: Any, who: TokenInfo) -> dict:
    try:
        row = package.points.loc[int(sample_id)]
    except KeyError:
        raise HTTPException(404, detail=f"run {package.run_id} has no point {sample_id}") from None
    chips = []
    for name in package.chip_names(sample_id):
        source = package.sources[name]
        chips.append(
            {
                "name": name,
                "caption": source.caption,
                "kind": source.kind,
                "url": f"{INTERPRET_API}/{package.run_id}/points/{int(sample_id)}/chips/{name}.png",
                "unit_fraction": min(1.0, package.pixel_size_m / (2 * source.half_width_m)),
            }
        )
    return {
        "run_id": package.run_id,
        "year": package.year,
        "sample_id": int(sample_id),
        "lon": float(row["lon"]),
        "lat": float(row["lat"]),
        "chips": chips,
        "profile": package.profile(sample_id),
        "classes": package.classes,
        "progress": progress(package, labels, who.team),
    }


def _refuse_a_changed_double_look(store: Store, run_id: str, sample_id: int, team: str) -> None:
    """409 when ``team`` relabels a point another interpreter has also labelled."""
    looks = interpretations(store.get_labels(run_id))
    looks = looks[looks["sample_id"].astype(int) == sample_id]
    others = set(looks["interpreter"]) - {team}
    if team in set(looks["interpreter"]) and others:
        raise HTTPException(
            409,
            detail=f"point {sample_id} has been looked at by two interpreters: a label of it "
            "is no longer changed (a reviewer's third look settles a disagreement)",
        )


def interpret_router(workspace: Path, store: Store) -> APIRouter:
    """The ``/interpret`` page and its API over the packages of ``workspace``'s runs."""
    router = APIRouter(tags=["interpretation"])
    workspace = Path(workspace)

    @router.get("/interpret", response_class=HTMLResponse, include_in_schema=False)
    def interpret_page() -> HTMLResponse:
        page = (_HERE / "templates" / "interpret.html").read_text(encoding="utf-8")
        headers = {"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store"}
        return HTMLResponse(page, headers=headers)

    @router.get("/static/interpret.js", include_in_schema=False)
    def interpret_script() -> FileResponse:
        return FileResponse(_HERE / "static" / "interpret.js", media_type="text/javascript")

    @router.get("/static/interpret.css", include_in_schema=False)
    def interpret_style() -> FileResponse:
        return FileResponse(_HERE / "static" / "interpret.css", media_type="text/css")

    @router.get(INTERPRET_API + "/runs")
    def runs(request: Request) -> JSONResponse:
        """Reference samples of the workspace's runs, newest first, with their progress."""
        who = _interpreter(request, store)
        answer = []
        for folder in find_packages(workspace):
            try:
                package = _read(folder)
            except AdmonError as exc:  # one damaged package does not hide the others
                logger.warning("interpretation package left out: %s", exc)
                continue
            labels = store.get_labels(package.run_id)
            answer.append(
                {
                    "run_id": package.run_id,
                    "year": package.year,
                    "progress": progress(package, labels, who.team),
                }
            )
        return JSONResponse(answer)

    @router.get(INTERPRET_API + "/{run_id}/next")
    def next_for_me(run_id: str, request: Request) -> JSONResponse:
        """The caller's next point, or ``{"done": true}`` when none is left for them."""
        who = _interpreter(request, store)
        package = _package(workspace, run_id)
        labels = store.get_labels(run_id)
        sample_id = next_point(package, labels, who.team)
        if sample_id is None:
            return JSONResponse({"done": True, "progress": progress(package, labels, who.team)})
        return JSONResponse(_point(package, sample_id, labels, who), headers=_PRIVATE)

    @router.get(INTERPRET_API + "/{run_id}/points/{sample_id}")
    def point(run_id: str, sample_id: int, request: Request) -> JSONResponse:
        """One point (no label of anyone in it)."""
        who = _interpreter(request, store)
        package = _package(workspace, run_id)
        labels = store.get_labels(run_id)
        return JSONResponse(_point(package, sample_id, labels, who), headers=_PRIVATE)

    @router.get(INTERPRET_API + "/{run_id}/points/{sample_id}/chips/{name}.png")
    async def chip(run_id: str, sample_id: int, name: str, request: Request) -> Response:
        """A PNG chip of one of the point's images, centred on it."""
        _interpreter(request, store)
        package = _package(workspace, run_id)
        if int(sample_id) not in package.points.index or name not in package.chip_names(sample_id):
            raise HTTPException(404, detail=f"point {sample_id} has no chip {name!r}")
        source, row = package.sources[name], package.points.loc[int(sample_id)]
        spec = ChipSpec(source.path, source.bands, source.half_width_m, source.size_px,
                        source.stretch)  # fmt: skip
        try:
            image = await run_in_threadpool(render_chip, spec, row["x"], row["y"], package.crs)
        except AdmonError as exc:
            logger.warning("chip %s of %s/%s: %s", name, run_id, sample_id, exc)
            raise HTTPException(404, detail=f"chip {name} cannot be drawn: {exc}") from None
        return Response(chip_png(image), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip

    @router.post(INTERPRET_API + "/{run_id}/labels", status_code=201)
    def label(run_id: str, sent: LabelIn, request: Request) -> JSONResponse:
        """Save a label at once (the next ``/next`` says where the interpretation stands)."""
        who = _interpreter(request, store)
        package = _package(workspace, run_id)
        if int(sent.sample_id) not in package.points.index:
            raise HTTPException(404, detail=f"run {run_id} has no point {sent.sample_id}")
        if sent.adjudicate and who.role not in _REVIEW_ROLES:
            raise HTTPException(403, detail="the third look is for reviewer and admin tokens")
        if not sent.adjudicate:
            _refuse_a_changed_double_look(store, run_id, int(sent.sample_id), who.team)
        try:
            store.put_label(
                run_id,
                sent.sample_id,
                who.team,
                sent.reference_class,
                unsure=sent.unsure,
                kind="adjudication" if sent.adjudicate else "interpretation",
            )
        except InvalidInputError as exc:
            raise HTTPException(422, detail=str(exc)) from None
        return JSONResponse({"saved": True, "sample_id": sent.sample_id}, status_code=201)

    @router.get(INTERPRET_API + "/{run_id}/agreement")
    def agreement(run_id: str, request: Request) -> JSONResponse:
        """Agreement between interpreters; the disagreements only for reviewers (a third look)."""
        who = _interpreter(request, store)
        package = _package(workspace, run_id)
        labels = store.get_labels(run_id)
        if who.role not in _REVIEW_ROLES:  # the figures would un-blind a second look
            return JSONResponse(
                {
                    "for_reviewers": True,
                    "progress": progress(package, labels, who.team),
                    "classes": package.classes,
                }
            )
        result = interpreter_agreement(labels).to_dict(with_disagreements=True)
        result["progress"] = progress(package, labels, who.team)
        result["classes"] = package.classes
        return JSONResponse(result)

    return router
