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


def spoken_prompt(text: str, language: str, cache_dir: Path, name: str = "prompt") -> Path:
    """A WAV of ``text`` (8 kHz mono), synthesised once and cached under a hash of voice+text."""
    voice = ESPEAK_VOICES.get(language.split("-")[0], language)
    key = hashlib.sha256(f"{voice}\0{text}".encode()).hexdigest()[:16]
    target = cache_dir / f"{name}-{key}.wav"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: a worker never plays half a file.
    part = target.with_name(f"{target.stem}.{os.getpid()}.part.wav")
    if not synthesize(text, voice, part):
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


def synthesize(text: str, voice: str, target: Path, rate: int = 8000) -> bool:
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        return False
    raw = target.with_suffix(".raw.wav")
    try:
        subprocess.run(
            [espeak, "-v", voice, "-w", str(raw), text], check=True, capture_output=True, timeout=60
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
