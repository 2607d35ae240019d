"""The demo: seeded users and calls a newcomer can watch arrive on the calls page."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from collections.abc import Iterator

from tingyin.accounts.actions import create_user
from tingyin.accounts.queries import user_by_name
from tingyin.config import Settings
from tingyin.store import Database
from tingyin.telephony.prompts import synthesize, write_chime

log = logging.getLogger(__name__)

DEMO_USERS = (
    ("admin", "admin", "管理员"),
    ("supervisor", "supervisor", "王主管"),
    ("qa", "qa", "质检李"),
    ("agent1", "agent", "客服小张"),
)
DEMO_LINES = (
    "你好，我的外卖已经超时四十分钟了，还没有送到。",
    "我点的汤洒了，袋子里全是汤。",
    "少送了一份米饭，麻烦帮我处理一下。",
)


def seed_demo(settings: Settings) -> Iterator[str]:
    """Create the demo users that do not exist yet; yields one line per new user."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        with db.session() as session:
            for username, role, display in DEMO_USERS:
                if user_by_name(session, username) is not None:
                    continue
                password = secrets.token_urlsafe(9)
                create_user(session, username, password, role, display_name=display)
                yield f"demo user {username} ({role}) password: {password}"
    finally:
        db.dispose()


async def place_demo_calls(settings: Settings, host: str, port: int, every: float) -> None:
    """Call the demo line now and then with the test caller, playing a complaint."""
    prompts = settings.data_dir / "prompts"
    prompts.mkdir(parents=True, exist_ok=True)
    clips = []
    for i, text in enumerate(DEMO_LINES):
        clip = prompts / f"demo-caller-{i}.wav"
        if not clip.is_file() and not await asyncio.to_thread(synthesize, text, "cmn", clip):
            write_chime(clip)
        clips.append(clip)
    n = 0
    while True:
        clip = clips[n % len(clips)]
        caller = f"1380013{n % 10000:04d}"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tingyin.telephony.test_caller",
            f"sip:4008001234@{host}:{port}", "--caller", caller, "--play", str(clip),
            "--dtmf", "1", "--dtmf-at", "3", "--hangup-after", "9",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await proc.wait()
        n += 1
        await asyncio.sleep(every)
