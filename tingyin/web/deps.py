"""What routes receive: the objects ``lifespan`` put on ``app.state``, as Annotated dependencies.

Routes doing DB work are plain ``def`` so FastAPI runs them (and their session) in its
threadpool, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, cast

from fastapi import Depends, HTTPException, status
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection, Request

from tingyin.bus import EventBus
from tingyin.config import Settings
from tingyin.store import Database
from tingyin.store.models import ROLES, User
from tingyin.web.auth import COOKIE_NAME, read_token
from tingyin.web.context import AppContext


async def get_context(conn: HTTPConnection) -> AppContext:
    return cast(AppContext, conn.app.state.context)


async def get_settings(conn: HTTPConnection) -> Settings:
    return cast(Settings, conn.app.state.settings)


async def get_bus(conn: HTTPConnection) -> EventBus:
    return cast(EventBus, conn.app.state.bus)


def db_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the route returns, rolled back if it raises."""
    with cast(Database, request.app.state.db).session() as session:
        yield session


Context = Annotated[AppContext, Depends(get_context)]
AppSettings = Annotated[Settings, Depends(get_settings)]
Bus = Annotated[EventBus, Depends(get_bus)]
# scope="function": commit before the response is sent, so a client that reads right after a
# write sees it, and a failed commit is still reported as an error.
DbSession = Annotated[Session, Depends(db_session, scope="function")]

# Declared for OpenAPI (Swagger's "Authorize" and the security schemes); both optional here
# so the 401 below is ours, with one message and the WWW-Authenticate header.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
_cookie = APIKeyCookie(name=COOKIE_NAME, auto_error=False)


def user_for_token(session: Session, secret_key: str, token: str | None) -> User | None:
    """The active user a token names, or None (no token, bad signature, expired, disabled)."""
    claims = read_token(secret_key, token) if token else None
    if claims is None:
        return None
    user = session.get(User, claims.user_id)
    return user if user is not None and user.active else None


def authenticate_token(context: AppContext, token: str | None) -> User | None:
    """Like user_for_token with its own short session (pages and websockets; blocking)."""
    if not token:
        return None
    with context.db.session() as session:
        return user_for_token(session, context.secret_key, token)


def not_logged_in(detail: str = "not logged in") -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def current_user(
    context: Context,
    session: DbSession,
    header_token: Annotated[str | None, Depends(_bearer)],
    cookie_token: Annotated[str | None, Depends(_cookie)],
) -> User:
    token = header_token or cookie_token
    if not token:
        raise not_logged_in()
    user = user_for_token(session, context.secret_key, token)
    if user is None:
        raise not_logged_in("login expired or invalid; log in again")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    """A dependency that lets only these roles through (403 for the others)."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"require_roles: unknown roles {sorted(unknown)}")
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs the role {' or '.join(roles)}")
        return user

    return check


AdminUser = Annotated[User, Depends(require_roles("admin"))]
