"""Screen-pop routes: a call's context, and the agent's search box (phone, order, ticket)."""

from __future__ import annotations

import re
from typing import Annotated, Any, cast

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from tingyin.bus.codec import event_to_dict
from tingyin.bus.events import CallerContextReady, utcnow
from tingyin.screenpop.context import ContextBuilder
from tingyin.screenpop.queries import stored_context
from tingyin.screenpop.sources import SourceError
from tingyin.screenpop.wiring import context_builder
from tingyin.web.context import AppContext
from tingyin.web.deps import DbSession
from tingyin.web.schemas import NO_CONTROL_CHARS

router = APIRouter(tags=["screen pop"])

CallId = Annotated[str, PathParam(max_length=64, pattern=NO_CONTROL_CHARS)]
ORDER_NO = re.compile(r"^\d{12,24}$")
TICKET_NO = re.compile(r"^(?:GD|T)[-\dA-Z]{4,}$", re.IGNORECASE)
MESSAGES = {
    "zh": {
        "no_order": "未找到订单 {q}",
        "no_party": "未找到该号码的顾客、骑手或商家",
        "bad_number": "无法识别的号码",
        "ticket": "工单查询将随工单功能上线",
        "source": "订单系统暂时无法查询：{e}",
    },
    "en": {
        "no_order": "No order {q}",
        "no_party": "No customer, rider or merchant has this number",
        "bad_number": "Not a phone number",
        "ticket": "Ticket search comes with the ticket feature",
        "source": "The order system cannot be reached: {e}",
    },
}


def _builder(request: Request) -> ContextBuilder:
    context = cast(AppContext, request.app.state.context)
    if context.screenpop is None:  # a web-only node or a test app: build one from settings
        context.screenpop = context_builder(context.settings, context.db)
    return context.screenpop


@router.get("/api/calls/{call_id}/context", responses={404: {"description": "No screen pop"}})
def call_context(call_id: CallId, session: DbSession) -> dict[str, Any]:
    """The call's screen pop as the agent got it (latest revision): a ``CallerContextReady``."""
    found = stored_context(session, call_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no screen pop for this call")
    return event_to_dict(found)


@router.get("/api/screenpop/search")
async def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=64, pattern=NO_CONTROL_CHARS)],
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
) -> dict[str, Any]:
    """A phone number, order number or ticket number, shown as a screen pop would show it.

    The answer has the fields of ``CallerContextReady`` plus ``query_kind``
    (phone | order | ticket) and ``message`` (set when nothing was found).
    """
    builder = _builder(request)
    text = MESSAGES.get(lang or builder.language, MESSAGES["zh"])
    query = q.strip().replace(" ", "").replace("-", "") if not TICKET_NO.match(q.strip()) else q
    try:
        if TICKET_NO.match(query):
            return _result(None, "ticket", text["ticket"])
        if ORDER_NO.match(query):
            found = await run_in_threadpool(builder.for_order, query, utcnow())
            if found is not None or len(query) > 15:
                return _result(found, "order", "" if found else text["no_order"].format(q=query))
        context = await run_in_threadpool(builder.for_call, "", query, utcnow())
    except SourceError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, text["source"].format(e=exc)
        ) from None
    if context.number_kind in ("invalid", "withheld"):
        return _result(None, "phone", text["bad_number"])
    return _result(context, "phone", text["no_party"] if context.caller_kind == "unknown" else "")


def _result(context: CallerContextReady | None, kind: str, message: str) -> dict[str, Any]:
    body = event_to_dict(context or CallerContextReady(call_id="", caller="", number_kind="",
                                                       caller_kind="unknown"))  # fmt: skip
    return body | {"query_kind": kind, "message": message}
