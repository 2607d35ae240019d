"""The ``[followup]`` section of the ticket policy: the satisfaction survey call after a ticket
is resolved — when, how often, within which hours, what is said, and which answers reopen it."""

from __future__ import annotations

from datetime import time

from pydantic import Field, field_validator, model_validator

from tingyin.tickets.hours import Strict, parse_hours


class SurveyPrompts(Strict):
    """What the customer hears (synthesised with espeak-ng, cached as WAV)."""

    question: str = Field(
        default=(
            "您好，这里是听音外卖客服回访。您反映的问题已经处理。"
            "请为我们的处理打分：非常满意请按5，满意请按4，一般请按3，不满意请按2，非常不满意请按1。"
        ),
        min_length=1,
        max_length=400,
    )
    invalid: str = Field(default="抱歉，没有听清您的选择。请按1到5之间的数字。", min_length=1)
    thanks: str = Field(default="感谢您的评价，再见。", min_length=1)
    reopened: str = Field(
        default="很抱歉让您不满意，我们已重新打开您的工单，客服会尽快联系您。再见。",
        min_length=1,
    )


class FollowUpPolicy(Strict):
    enabled: bool = True
    delay_hours: float = Field(default=24.0, ge=0, le=24 * 30, description="after resolved")
    calling_hours: str = "09:00-21:00"  # in the calendar's time zone; a call waits for them
    max_attempts: int = Field(default=3, ge=1, le=10)
    retry_minutes: float = Field(default=60.0, ge=0, le=24 * 60)
    ring_seconds: int = Field(default=30, ge=5, le=120)
    answer_seconds: float = Field(default=8.0, ge=1, le=60, description="to press a key")
    retries: int = Field(default=1, ge=0, le=3, description="after no or a wrong key")
    reopen_at_or_below: int = Field(default=2, ge=0, le=5, description="0 = never reopen")
    close_at_or_above: int = Field(default=3, ge=1, le=6, description="6 = never close")
    prompts: SurveyPrompts = Field(default_factory=SurveyPrompts)

    @field_validator("calling_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not parse_hours("followup.calling_hours", value):
            raise ValueError('followup.calling_hours: "closed" would never call anyone')
        return value

    @model_validator(mode="after")
    def _bands(self) -> FollowUpPolicy:
        if self.close_at_or_above <= self.reopen_at_or_below:
            raise ValueError(
                f"followup: close_at_or_above ({self.close_at_or_above}) must be above "
                f"reopen_at_or_below ({self.reopen_at_or_below})"
            )
        return self

    def hours(self) -> tuple[tuple[time, time], ...]:
        return parse_hours("followup.calling_hours", self.calling_hours)
