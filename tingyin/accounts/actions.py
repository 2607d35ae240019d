"""Changes to users; each writes its audit row in the same transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tingyin.accounts.passwords import hash_password
from tingyin.audit.actions import record_audit
from tingyin.bus.events import utcnow
from tingyin.store.models import ROLES, User

MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    pass


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    by: User | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError("user name must be 1–64 characters")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hash_password(password),
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    record_audit(
        session, by, "user.create", "user", str(user.id), {"username": username, "role": role}
    )
    return user


def set_password(session: Session, user: User, password: str, *, by: User | None = None) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    record_audit(session, by, "user.password", "user", str(user.id), {})
