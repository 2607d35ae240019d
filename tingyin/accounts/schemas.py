from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tingyin.web.schemas import NO_CONTROL_CHARS

# The same four as tingyin.store.models.ROLES (a unit test keeps them equal); a Literal makes
# the OpenAPI schema list them.
Role = Literal["agent", "supervisor", "qa", "admin"]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (OAuth2 token type, not a secret)
    role: str
    username: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=NO_CONTROL_CHARS)
    # SecretStr: never shown by repr() or in a log line by accident.
    password: SecretStr
    role: Role
    display_name: str = Field(default="", max_length=128, pattern=NO_CONTROL_CHARS)
