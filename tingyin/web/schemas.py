from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

# For free text that reaches SQL: PostgreSQL refuses NUL, and no name needs control characters.
NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]*$"


class HealthOut(BaseModel):
    status: Literal["ok"]
    parts: dict[str, Any]
