"""The event bus: the one catalogue of events and the transports that carry them."""

from tingyin.bus.bus import EventBus
from tingyin.bus.codec import decode_event, encode_event

__all__ = ["EventBus", "decode_event", "encode_event"]
