"""The greeting prompt: an admin's WAV, or text synthesised once with espeak-ng and cached."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ESPEAK_VOICES = {"zh": "cmn", "en": "en", "ko": "ko"}


class PromptError(Exception):
    pass


def greeting_path(configured: Path | None, text: str, language: str, cache_dir: Path) -> Path:
    if configured is not None:
        if not configured.is_file():
            raise PromptError(f"greeting WAV not found: {configured}")
        return configured
    return spoken_prompt(text, language, cache_dir, "greeting")


def spoken_prompt(
    text: str, language: str, cache_dir: Path, name: str = "prompt", speed: int = 175
) -> Path:
    """A WAV of ``text`` (8 kHz mono), synthesised once and cached under a hash of voice+text."""
    voice = ESPEAK_VOICES.get(language.split("-")[0], language)
    spoken = f"{voice}\0{text}" if speed == 175 else f"{voice}\0{speed}\0{text}"
    key = hashlib.sha256(spoken.encode()).hexdigest()[:16]
    target = cache_dir / f"{name}-{key}.wav"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: a worker never plays half a file.
    part = target.with_name(f"{target.stem}.{os.getpid()}.part.wav")
    if not synthesize(text, voice, part, speed=speed):
        log.warning("espeak-ng/sox unavailable: prompt %r is a two-tone chime instead", name)
        write_chime(part)
    part.replace(target)
    return target


def wav_seconds(path: Path) -> float:
    """How long a WAV plays (raises OSError / ValueError for a missing or broken file)."""
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / float(wav.getframerate())
    except wave.Error as exc:
        raise ValueError(f"{path.name}: {exc}") from None


def synthesize(text: str, voice: str, target: Path, rate: int = 8000, speed: int = 175) -> bool:
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        return False
    raw = target.with_suffix(".raw.wav")
    try:
        subprocess.run(
            [espeak, "-v", voice, "-s", str(speed), "-w", str(raw), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        subprocess.run(
            [sox, str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(target)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log.warning("prompt synthesis failed: %s", exc)
        return False
    finally:
        raw.unlink(missing_ok=True)
    return True


def write_chime(target: Path, rate: int = 8000) -> None:
    t = np.arange(int(rate * 0.4)) / rate
    tone = np.concatenate([np.sin(2 * np.pi * 660 * t), np.sin(2 * np.pi * 880 * t)])
    pcm = (tone * 0.3 * 32767).astype("<i2")
    with wave.open(str(target), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


def write_hold_music(target: Path, rate: int = 8000) -> Path:
    """A soft eight-second arpeggio that loops cleanly: what a queued caller hears (written once;
    an admin may replace the file with their own 8 kHz mono WAV)."""
    if target.is_file():
        return target
    notes = (523.25, 659.25, 783.99, 659.25, 587.33, 698.46, 880.0, 698.46)  # C E G E D F A F
    t = np.arange(int(rate * 1.0)) / rate
    envelope = np.minimum(1.0, t / 0.05) * np.exp(-2.5 * t)  # a plucked note
    tones = [np.sin(2 * np.pi * f * t) * envelope for f in notes]
    pcm = (np.concatenate(tones) * 0.2 * 32767).astype("<i2")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f"{target.stem}.{os.getpid()}.part.wav")
    with wave.open(str(part), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    part.replace(target)
    return target
