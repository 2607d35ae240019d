"""JSON encoding of events, for IPC between processes and for websockets."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from typing import Any

from tingyin.bus.events import ALL_EVENTS, Event

_BY_NAME: dict[str, type[Event]] = {cls.__name__: cls for cls in ALL_EVENTS}


class EventDecodeError(ValueError):
    pass


def event_to_dict(event: Event) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": type(event).__name__}
    for f in dataclasses.fields(event):
        payload[f.name] = _plain(getattr(event, f.name))
    return payload


def encode_event(event: Event) -> bytes:
    return json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":")).encode()


def decode_event(data: bytes | str) -> Event:
    try:
        payload = json.loads(data)
        cls = _BY_NAME[payload.pop("type")]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EventDecodeError(f"not an event: {exc}") from exc
    try:
        event: Event = _build(cls, payload)
        return event
    except (TypeError, ValueError, AttributeError) as exc:
        raise EventDecodeError(f"bad {cls.__name__}: {exc}") from exc


def _build(cls: type[Any], payload: dict[str, Any]) -> Any:
    """A dataclass from its JSON form, nested dataclasses included (unknown keys ignored)."""
    hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: _typed(hints[f.name], payload[f.name])
        for f in dataclasses.fields(cls)
        if f.name in payload
    }
    return cls(**kwargs)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if hint is datetime:
        return datetime.fromisoformat(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value)
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item, *_) = typing.get_args(hint)
        return tuple(_typed(item, v) for v in value)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _typed(inner[0], value) if len(inner) == 1 else value
    return value
