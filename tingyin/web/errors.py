"""Error responses: clear 422s, and 500s that log the cause but tell the client nothing."""

from __future__ import annotations

import logging
import re
import traceback

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tingyin.privacy import mask_number

log = logging.getLogger(__name__)

# Phone numbers reach exception messages through SQL parameters and event reprs.
_LONG_DIGITS = re.compile(r"\d{7,}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(Exception, _unhandled)


async def _validation_failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's default echoes each bad "input" back (a password among them); keep where and why.
    detail = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def _unhandled(request: Request, exc: Exception) -> Response:
    # The path only: query strings may carry a websocket token.
    trace = "".join(traceback.format_exception(exc))
    log.error(
        "unhandled error on %s %s\n%s",
        request.method,
        request.url.path,
        _LONG_DIGITS.sub(lambda m: mask_number(m.group()), trace),
    )
    return JSONResponse({"detail": "internal server error"}, status_code=500)
