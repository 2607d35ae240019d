from __future__ import annotations

import pytest

from tingyin.telephony.ipc import pack_audio, unpack_audio

CALL = "0123456789abcdef0123456789abcdef"


def test_audio_frame_round_trips() -> None:
    left, right = b"\x01\x00" * 800, b"\x02\x00" * 800
    assert unpack_audio(pack_audio(CALL, 1234567, left, right)) == (CALL, 1234567, left, right)


@pytest.mark.parametrize(
    "payload",
    [b"", b"short", CALL.encode() + b"\x00\x00\xff\xff" + b"x" * 10, b"\xff" * 40],
)
def test_bad_audio_frames_are_a_clear_error(payload: bytes) -> None:
    with pytest.raises(ValueError):
        unpack_audio(payload)


def test_call_id_must_have_the_fixed_width() -> None:
    with pytest.raises(ValueError):
        pack_audio("short", 0, b"", b"")
