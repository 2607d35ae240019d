"""Login, logout, the current user, and user administration."""

from __future__ import annotations

import functools
import logging
import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session

from tingyin.accounts.actions import AccountError, create_user
from tingyin.accounts.passwords import hash_password, verify_password
from tingyin.accounts.queries import list_users, user_by_name
from tingyin.accounts.schemas import TokenOut, UserCreate, UserOut
from tingyin.audit.actions import record_audit
from tingyin.store.models import User
from tingyin.web.auth import clear_token_cookie, issue_token, set_token_cookie
from tingyin.web.deps import AdminUser, Context, CurrentUser, DbSession, not_logged_in

log = logging.getLogger(__name__)

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")

# /api/auth/token must be reachable without a login; everything in `router` needs one (the app
# adds the login dependency to the whole router).
public_router = APIRouter(tags=["auth"])
router = APIRouter(tags=["auth"])


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not a real password, only spends the time of a check")


def _plain(text: str) -> str:
    """The text without control characters (PostgreSQL refuses NUL in queries and rows)."""
    return _CONTROL_CHARS.sub("", text)


def _check_password(session: Session, username: str, password: str) -> User | None:
    user = user_by_name(session, username) if username == _plain(username) else None
    # Hash even for unknown names so response times do not reveal which names exist.
    ok = verify_password(user.password_hash if user else _dummy_hash(), password)
    return user if ok and user is not None and user.active else None


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


@public_router.post(
    "/api/auth/token",
    response_model=TokenOut,
    responses={401: {"description": "Wrong user name or password"}},
)
def login(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    context: Context,
) -> TokenOut:
    """OAuth2 password flow; also sets the HttpOnly cookie the pages and websockets use."""
    client = request.client.host if request.client else ""
    # An own session, not DbSession: the audit row of a failed login must survive the 401.
    with context.db.session() as session:
        user = _check_password(session, form.username, form.password)
        if user is None:
            record_audit(
                session, None, "auth.failed", "user", _plain(form.username)[:64], {"client": client}
            )
        else:
            record_audit(session, user, "auth.login", "user", str(user.id), {"client": client})
    if user is None:
        log.info("failed login from %s", client)
        raise not_logged_in("wrong user name or password")
    minutes = context.settings.auth.token_minutes
    token = issue_token(context.secret_key, user.id, user.role, minutes)
    set_token_cookie(response, token, minutes, secure=_is_https(request))
    return TokenOut(access_token=token, role=user.role, username=user.username)


@router.get("/api/auth/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/api/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, user: CurrentUser, session: DbSession) -> Response:
    """Clears the cookie. A bearer token stays valid until it expires (tokens are stateless)."""
    record_audit(session, user, "auth.logout", "user", str(user.id))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_token_cookie(response, secure=_is_https(request))
    return response


@router.get("/api/users", response_model=list[UserOut])
def users(admin: AdminUser, session: DbSession) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in list_users(session)]


@router.post(
    "/api/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The user name is taken"}},
)
def add_user(body: UserCreate, admin: AdminUser, session: DbSession) -> UserOut:
    if user_by_name(session, body.username.strip()) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username!r} already exists")
    try:
        user = create_user(
            session,
            body.username,
            body.password.get_secret_value(),
            body.role,
            display_name=body.display_name,
            by=admin,
        )
    except AccountError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return UserOut.model_validate(user)
