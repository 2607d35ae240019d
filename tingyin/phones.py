"""Phone numbers as a caller ID gives them, turned into one key the stores index.

Chinese numbers arrive in many spellings (13812345678, +86 138…, 0086138…, 010-6234-5678) and a
customer's number in the order data was typed by yet another system. Everything is reduced to
E.164 (``+8613812345678``) with Google's ``phonenumbers``; short service numbers (95588, 12345)
have no E.164 form and keep their digits. Withheld and unusable numbers get no key at all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from tingyin.privacy import mask_number

DEFAULT_REGION = "CN"
# What SIP and the carriers put in From when the caller hides their number.
WITHHELD = frozenset(
    {"", "anonymous", "unknown", "restricted", "private", "unavailable", "withheld", "invalid"}
)
_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "service",  # 800
    PhoneNumberType.SHARED_COST: "service",  # 400
    PhoneNumberType.PREMIUM_RATE: "service",
    PhoneNumberType.UAN: "service",
    PhoneNumberType.VOIP: "mobile",
    PhoneNumberType.PERSONAL_NUMBER: "mobile",
}


@dataclass(frozen=True)
class PhoneNumber:
    raw: str
    key: str  # E.164, or a short service number's digits; "" when there is nothing to look up
    kind: str  # mobile | landline | service | withheld | invalid
    national: str = ""  # as dialled inside the country: 13812345678, 01062345678, 95588

    @property
    def masked(self) -> str:
        """As an agent reads it: national form for Chinese numbers (138****5678)."""
        return mask_number(self.national or self.key or self.raw)

    @property
    def usable(self) -> bool:
        return bool(self.key)


@functools.lru_cache(maxsize=8192)  # ~0.4 ms a parse; a screen pop normalises each order's number
def normalise(raw: str, region: str = DEFAULT_REGION) -> PhoneNumber:
    """The caller's number as a lookup key, whatever spelling it came in."""
    text = raw.strip()
    if text.lower() in WITHHELD:
        return PhoneNumber(raw, "", "withheld")
    digits = "".join(ch for ch in text if ch.isdigit())
    if any(ch.isalpha() for ch in text):  # a SIP user name, not a number (no vanity numbers here)
        return PhoneNumber(raw, "", "invalid")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return PhoneNumber(raw, "", "invalid")
    if phonenumbers.is_valid_number(number):
        kind = _TYPES.get(phonenumbers.number_type(number), "landline")
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        dialled = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        national = "".join(ch for ch in dialled if ch.isdigit())
        if number.country_code != phonenumbers.country_code_for_region(region):
            national = ""  # a foreign number reads best in its international form
        return PhoneNumber(raw, e164, kind, national)
    national = str(number.national_number)
    if number.country_code == phonenumbers.country_code_for_region(region) and (
        phonenumbers.is_valid_short_number_for_region(number, region)
    ):
        return PhoneNumber(raw, national, "service", national)  # 95588: no E.164 form
    return PhoneNumber(raw, "", "invalid" if digits else "withheld")


def lookup_key(raw: str, region: str = DEFAULT_REGION) -> str:
    """The store key of a number typed anywhere (order imports, search boxes); "" if none."""
    return normalise(raw, region).key
