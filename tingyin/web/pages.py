"""The HTML pages: static files whose scripts call the API; only the login check is here."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from tingyin.ivr.api import IVR_ROLES
from tingyin.listening.api import ROOM_ROLES
from tingyin.qa.actions import REVIEWER_ROLES
from tingyin.reports.api import REPORT_ROLES
from tingyin.web.auth import token_from
from tingyin.web.context import AppContext
from tingyin.web.deps import authenticate_token

STATIC_DIR = Path(__file__).parent / "static"

# Scripts and styles come from /static only (no inline code, no CDN), so a strict policy holds.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(
        STATIC_DIR / name, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS
    )


def _redirect(request: Request, path: str) -> RedirectResponse:
    # Keep the chosen language across the redirect; nothing else from the query.
    lang = request.query_params.get("lang")
    return RedirectResponse(f"{path}?lang={lang}" if lang in ("zh", "en") else path, 303)


def _logged_in(request: Request) -> bool:
    context = cast(AppContext, request.app.state.context)
    return authenticate_token(context, token_from(request)) is not None


@router.get("/login")
def login_page(request: Request) -> Response:
    if _logged_in(request):
        return _redirect(request, "/")
    return _page("login.html")


@router.get("/")
def calls_page(request: Request) -> Response:
    if not _logged_in(request):
        return _redirect(request, "/login")
    return _page("calls.html")


@router.get("/desk")
def desk_page(request: Request) -> Response:
    if not _logged_in(request):
        return _redirect(request, "/login")
    return _page("desk.html")


@router.get("/tickets")
def tickets_page(request: Request) -> Response:
    if not _logged_in(request):
        return _redirect(request, "/login")
    return _page("tickets.html")


@router.get("/ivr")
def ivr_page(request: Request) -> Response:
    user = authenticate_token(cast(AppContext, request.app.state.context), token_from(request))
    if user is None:
        return _redirect(request, "/login")
    if user.role not in IVR_ROLES:
        return _redirect(request, "/desk")  # agents: their desk, where the login sends them
    return _page("ivr.html")


@router.get("/qa")
def qa_page(request: Request) -> Response:
    user = authenticate_token(cast(AppContext, request.app.state.context), token_from(request))
    if user is None:
        return _redirect(request, "/login")
    if user.role not in REVIEWER_ROLES:
        return _redirect(request, "/desk")
    return _page("qa.html")


@router.get("/reports")
@router.get("/reports/{tab:str}")
def reports_page(request: Request, tab: str = "") -> Response:
    user = authenticate_token(cast(AppContext, request.app.state.context), token_from(request))
    if user is None:
        return _redirect(request, "/login")
    if user.role not in REPORT_ROLES or tab not in ("", "complaints", "keywords", "staffing"):
        return _redirect(request, "/desk" if user.role not in REPORT_ROLES else "/reports")
    return _page("reports.html")


@router.get("/room")
def room_page(request: Request) -> Response:
    user = authenticate_token(cast(AppContext, request.app.state.context), token_from(request))
    if user is None:
        return _redirect(request, "/login")
    if user.role not in ROOM_ROLES:
        return _redirect(request, "/desk")
    return _page("room.html")
