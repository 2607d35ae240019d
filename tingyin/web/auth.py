"""Login tokens: HS256 JWTs, sent as ``Authorization: Bearer`` or in an HttpOnly cookie.

The token names the user by id; every request loads the user again, so a deactivated user or
a changed role takes effect at once, not when the token expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from starlette.requests import HTTPConnection
from starlette.responses import Response

from tingyin.bus.events import utcnow

ALGORITHM = "HS256"
COOKIE_NAME = "tingyin_token"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    expires_at: datetime


def issue_token(
    secret_key: str, user_id: int, role: str, minutes: int, *, now: datetime | None = None
) -> str:
    issued = now or utcnow()
    claims = {
        "sub": str(user_id),
        "role": role,  # informative only: authorisation reads the role from the store
        "iat": issued,
        "exp": issued + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_token(secret_key: str, token: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None for anything else."""
    try:
        claims = jwt.decode(
            token, secret_key, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
        user_id = int(claims["sub"])
        expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
    return TokenClaims(user_id=user_id, expires_at=expires_at)


def token_from(conn: HTTPConnection, *, allow_query: bool = False) -> str | None:
    """The token a request or websocket carries: header first, then cookie (pages).

    ``?token=`` is accepted only where asked (websockets: browsers cannot set their headers),
    because query strings end up in access logs.
    """
    scheme, _, value = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = conn.cookies.get(COOKIE_NAME)
    if cookie:
        return cookie
    if allow_query:
        return conn.query_params.get("token") or None
    return None


def set_token_cookie(response: Response, token: str, minutes: int, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=minutes * 60,
        path="/",
        httponly=True,  # page scripts never see the token; XSS cannot steal it
        samesite="strict",  # other sites cannot ride the cookie (CSRF, websocket hijacking)
        secure=secure,
    )


def clear_token_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=secure)
