"""The reports' routes in one router for the web app (JSON, plots and exports)."""

from __future__ import annotations

from fastapi import APIRouter

from tingyin.reports import api, files_api

router = APIRouter()
router.include_router(api.router)
router.include_router(files_api.router)
