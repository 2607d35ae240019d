"""What an agent's desk shows that the hub does not already know: the ticket draft as the agent
types it, the order they picked on the card and their softphone's keys. Carried by
``DeskMirror`` to the listening room, which mirrors the desk beside the call (state, not video).

Codes (category, party) are the ticket policy's; numbers in here are order numbers and ticket
numbers, never a caller's phone number (the hub masks phone-shaped text in the description).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class DeskDraft:
    category: str = ""
    order_no: str = ""  # the order the ticket is for ("" none)
    responsible_party: str = ""  # "" the server judges it when the ticket is submitted
    description: str = ""
    status: str = "editing"  # editing | submitting | submitted | failed
    ticket_number: str = ""  # once submitted
    edited: bool = False  # the agent changed the prefilled fields
    shown_order_no: str = ""  # the order on the agent's card (the caller may have several)
    viewing: str = "call"  # call | other_call | search: what the agent's screen shows now
    muted: bool = False  # the browser softphone's keys
    held: bool = False
