"""The softphone's jitter buffer: primes, plays in order, survives bursts and clock drift."""

from __future__ import annotations

import pytest

from tingyin.telephony.jitter import JitterBuffer


def frame(n: int) -> bytes:
    return n.to_bytes(2, "little") * 160


def test_it_waits_for_the_target_then_plays_in_order() -> None:
    jb = JitterBuffer(target=3)
    jb.push(frame(1))
    jb.push(frame(2))
    assert jb.pop() is None  # priming: 2 of 3
    jb.push(frame(3))
    assert [jb.pop() for _ in range(3)] == [frame(1), frame(2), frame(3)]


def test_running_dry_plays_silence_and_primes_again() -> None:
    jb = JitterBuffer(target=2)
    for n in (1, 2):
        jb.push(frame(n))
    assert jb.pop() == frame(1) and jb.pop() == frame(2)
    assert jb.pop() is None and jb.underruns == 1
    jb.push(frame(3))
    assert jb.pop() is None  # one frame is not enough after an underrun
    jb.push(frame(4))
    assert jb.pop() == frame(3)


def test_a_burst_beyond_capacity_drops_the_oldest() -> None:
    jb = JitterBuffer(target=2, max_frames=5)
    for n in range(8):
        jb.push(frame(n))
    assert jb.overflows == 3 and jb.depth == 5
    assert jb.pop() == frame(3)


def test_a_faster_sender_is_trimmed_back_to_the_target() -> None:
    """The sender's clock runs fast: one extra frame every 10 ticks. The depth (delay) must
    stay bounded instead of growing with the call."""
    jb = JitterBuffer(target=2, max_frames=50, slack=2, trim_after=20)
    depths = []
    for tick in range(2000):
        jb.push(frame(tick % 500))
        if tick % 10 == 0:
            jb.push(frame(0))
        jb.pop()
        depths.append(jb.depth)
    assert max(depths[-500:]) <= 2 + 2 + 3
    assert jb.trimmed > 0 and jb.overflows == 0


def test_a_stalled_sender_catching_up_costs_one_glitch_not_lasting_delay() -> None:
    jb = JitterBuffer(target=2, max_frames=50, slack=2, trim_after=50)
    for n in range(3):
        jb.push(frame(n))
    jb.pop()
    for n in range(12):  # 240 ms arrive at once after a stall
        jb.push(frame(n))
    for n in range(60):
        jb.push(frame(n))
        jb.pop()
    assert jb.depth <= 4 and jb.trimmed >= 9


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(target=0)
    with pytest.raises(ValueError):
        JitterBuffer(target=5, max_frames=5)
