"""The FastAPI app: REST under /api, websockets under /ws, pages and their static files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from tingyin import __version__
from tingyin.accounts import api as accounts_api
from tingyin.agents import api as agents_api
from tingyin.asr import api as asr_api
from tingyin.audit import api as audit_api
from tingyin.bus import EventBus
from tingyin.ivr import api as ivr_api
from tingyin.listening import api as listening_api
from tingyin.listening import mirror_api
from tingyin.qa import api as qa_api
from tingyin.reports import routes as reports_routes
from tingyin.screenpop import api as screenpop_api
from tingyin.softphone import api as softphone_api
from tingyin.telephony import api as telephony_api
from tingyin.telephony import outbound_api, transfer_api
from tingyin.tickets import api as tickets_api
from tingyin.tickets import followup_api
from tingyin.web import api as web_api
from tingyin.web import events, listen, pages
from tingyin.web.context import AppContext
from tingyin.web.deps import current_user
from tingyin.web.errors import install_error_handlers

# Routes reachable without a login. Every other /api route gets the login dependency below;
# tests/unit/web/test_auth.py calls them all without a token and expects 401.
PUBLIC_ROUTERS: tuple[APIRouter, ...] = (web_api.router, accounts_api.public_router)
PROTECTED_ROUTERS: tuple[APIRouter, ...] = (
    accounts_api.router,
    telephony_api.router,
    asr_api.router,
    audit_api.router,
    screenpop_api.router,
    tickets_api.router,
    followup_api.router,
    transfer_api.router,
    outbound_api.router,
    ivr_api.router,
    agents_api.router,
    qa_api.router,
    reports_routes.router,
    listening_api.router,
    mirror_api.router,
)


def create_app(context: AppContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_bus = context.bus is None
        bus = context.bus or EventBus(asyncio.get_running_loop())
        if own_bus:
            bus.start()
        app.state.context = context
        app.state.settings = context.settings
        app.state.db = context.db
        app.state.bus = bus
        try:
            yield
        finally:
            if own_bus:
                await bus.stop()

    app = FastAPI(
        title="Tingyin 听音",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # Swagger UI and ReDoc load their code from a CDN; the install may be offline.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in PUBLIC_ROUTERS:
        app.include_router(router)
    for router in PROTECTED_ROUTERS:
        app.include_router(router, dependencies=[Depends(current_user)])
    app.include_router(events.router)
    app.include_router(listen.router)
    app.include_router(softphone_api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app
