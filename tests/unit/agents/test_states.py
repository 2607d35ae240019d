"""Agent states on a real database: who may move where, the log with durations, the longest-idle
ready agents with the right skill, missed offers, profiles, and the queue file's errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tingyin.accounts.actions import create_user
from tingyin.agents.actions import (
    AgentError,
    ProfileChanges,
    configure_agent,
    ensure_profile,
    ready_agents,
    record_missed_offer,
    set_state,
)
from tingyin.agents.config import (
    DEFAULT_QUEUE_CONFIG,
    QueueConfig,
    QueueConfigError,
    load_queue_config,
)
from tingyin.agents.queries import day_start, totals_by_state
from tingyin.audit.queries import recent_audit
from tingyin.store import Database
from tingyin.store.models import AgentProfile, AgentStateLog, User

T0 = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def config() -> QueueConfig:
    return load_queue_config()


def agent(db: Database, name: str, role: str = "agent") -> int:
    with db.session() as session:
        return create_user(session, name, "agent-pass-1", role, display_name=f"{name} 坐席").id


def log_rows(db: Database, user_id: int) -> list[AgentStateLog]:
    with db.session() as session:
        query = select(AgentStateLog).where(AgentStateLog.user_id == user_id)
        return list(session.scalars(query.order_by(AgentStateLog.started_at, AgentStateLog.id)))


def move(
    db: Database, config: QueueConfig, user_id: int, state: str, when: float, **kw: str
) -> AgentProfile:
    with db.session() as session:
        return set_state(session, config, user_id, state, now=at(when), **kw)  # type: ignore[arg-type]


def refused(db: Database, config: QueueConfig, user_id: int, state: str, **kw: str) -> AgentError:
    with pytest.raises(AgentError) as err, db.session() as session:
        set_state(session, config, user_id, state, now=at(9999), **kw)  # type: ignore[arg-type]
    return err.value


def test_an_agent_moves_themselves_only_outside_calls(db: Database, config: QueueConfig) -> None:
    uid = agent(db, "li")
    with db.session() as session:
        user = session.get(User, uid)
        assert user is not None
        profile = ensure_profile(session, user, now=at(0))
        assert (profile.state, profile.idle_since, profile.lines) == ("offline", None, ["customer"])
        assert ensure_profile(session, user) is profile

    ready = move(db, config, uid, "ready", 10)
    assert (ready.state, ready.idle_since, ready.state_since) == ("ready", at(10), at(10))
    busy = move(db, config, uid, "not_ready", 20, reason="break")
    assert (busy.state, busy.state_reason, busy.idle_since) == ("not_ready", "break", at(10))

    # Unknown or misplaced reasons: 422; states only the system sets: 409.
    assert refused(db, config, uid, "not_ready", reason="nap").status == 422
    assert refused(db, config, uid, "not_ready", reason="missed").status == 422
    assert refused(db, config, uid, "not_ready").status == 422
    assert refused(db, config, uid, "ready", reason="break").status == 422
    assert refused(db, config, uid, "dancing").status == 422
    for state in ("ringing", "on_call", "wrap_up"):
        err = refused(db, config, uid, state)
        assert err.status == 409 and "the system does" in err.message

    # The system offers a call only to a ready agent.
    err = refused(db, config, uid, "ringing", by="system", call_id="c1")
    assert (err.status, err.message) == (
        409,
        "the system cannot move an agent from not_ready to ringing",
    )
    move(db, config, uid, "ready", 30)
    ringing = move(db, config, uid, "ringing", 31, by="system", call_id="c1")
    assert (ringing.state, ringing.current_call_id) == ("ringing", "c1")
    for state, reason in (("ready", ""), ("offline", ""), ("not_ready", "break")):
        err = refused(db, config, uid, state, reason=reason)
        assert (err.status, err.message) == (
            409,
            "cannot change state while ringing: finish the call first",
        )
    on_call = move(db, config, uid, "on_call", 35, by="system")
    assert (on_call.state, on_call.current_call_id, on_call.missed_offers) == ("on_call", "c1", 0)
    assert refused(db, config, uid, "offline").status == 409
    assert refused(db, config, uid, "offline", by="system").status == 409
    wrap = move(db, config, uid, "wrap_up", 95, by="system")
    assert (wrap.state, wrap.current_call_id) == ("wrap_up", "c1")
    # Wrap-up ends when the agent says so (or the system's timer does).
    back = move(db, config, uid, "ready", 110)
    assert (back.state, back.current_call_id, back.idle_since) == ("ready", None, at(110))
    # The same state again changes nothing.
    again = move(db, config, uid, "ready", 200)
    assert again.state_since == at(110)
    move(db, config, uid, "offline", 300)

    rows = log_rows(db, uid)
    assert [(r.state, r.reason, r.call_id) for r in rows] == [
        ("offline", "", None),
        ("ready", "", None),
        ("not_ready", "break", None),
        ("ready", "", None),
        ("ringing", "", "c1"),
        ("on_call", "", "c1"),
        ("wrap_up", "", "c1"),
        ("ready", "", None),
        ("offline", "", None),
    ]
    assert [r.seconds for r in rows] == [10, 10, 10, 1, 4, 60, 15, 190, None]
    assert all(r.ended_at is not None for r in rows[:-1]) and rows[-1].ended_at is None
    with db.session() as session:
        since = day_start(at(0), "Asia/Shanghai")
        assert since == datetime(2026, 4, 30, 16, 0, tzinfo=UTC)
        totals = totals_by_state(session, [uid], since, at(400))[uid]
    assert totals == {
        "offline": 110.0,  # 10 s at first, 100 s since the end
        "ready": 201.0,
        "not_ready": 10.0,
        "ringing": 4.0,
        "on_call": 60.0,
        "wrap_up": 15.0,
    }


def test_unknown_users_are_404(db: Database, config: QueueConfig) -> None:
    err = refused(db, config, 4242, "ready")
    assert (err.status, err.message) == (404, "no user 4242")


def test_ready_agents_longest_idle_first_with_the_right_skill(
    db: Database, config: QueueConfig
) -> None:
    ids = {name: agent(db, name) for name in ("a", "b", "c", "d", "e", "f")}
    skills = {
        "a": (["customer"], ["zh"], 1),
        "b": (["customer", "rider"], ["zh", "en"], 3),
        "c": (["rider"], ["zh"], 2),
        "d": (["customer"], ["en"], 5),
        "e": (["customer", "merchant"], ["zh"], 4),
        "f": (["customer"], ["zh"], 5),
    }
    with db.session() as session:
        for name, (lines, languages, level) in skills.items():
            configure_agent(
                session, ids[name], ProfileChanges(lines=lines, languages=languages, level=level)
            )
    # Ready in this order: e first (longest idle), then c, a, b, d; f is on a break.
    for n, name in enumerate(["e", "c", "a", "b", "d", "f"]):
        move(db, config, ids[name], "ready", 10 * n)
    move(db, config, ids["f"], "not_ready", 100, reason="lunch")

    def names(line: str, language: str = "zh", min_level: int = 1) -> list[str]:
        with db.session() as session:
            found = ready_agents(session, line, language, min_level)
            by_id = {v: k for k, v in ids.items()}
            return [by_id[p.user_id] for p in found]

    assert names("customer") == ["e", "a", "b"]
    assert names("customer", min_level=3) == ["e", "b"]
    assert names("customer", "en") == ["b", "d"]
    assert names("rider") == ["c", "b"]
    assert names("rider", min_level=3) == ["b"]
    assert names("merchant") == ["e"]
    # e takes a call and comes back: now the shortest idle.
    move(db, config, ids["e"], "ringing", 200, by="system", call_id="c9")
    assert names("customer") == ["a", "b"]
    move(db, config, ids["e"], "on_call", 205, by="system")
    move(db, config, ids["e"], "ready", 300, by="system")
    assert names("customer") == ["a", "b", "e"]
    # A disabled user is never offered a call.
    with db.session() as session:
        user = session.get(User, ids["a"])
        assert user is not None
        user.active = False
    assert names("customer") == ["b", "e"]


def test_missed_offers_send_an_agent_to_not_ready(db: Database, config: QueueConfig) -> None:
    assert config.agents.max_missed_offers == 2
    uid = agent(db, "wang")
    move(db, config, uid, "ready", 0)
    move(db, config, uid, "ringing", 10, by="system", call_id="c1")
    with db.session() as session:
        first = record_missed_offer(session, config, uid, at(25))
        # Back to ready, at the end of the idle line.
        assert (first.state, first.missed_offers, first.idle_since) == ("ready", 1, at(25))
    move(db, config, uid, "ringing", 30, by="system", call_id="c2")
    with db.session() as session:
        second = record_missed_offer(session, config, uid, at(45))
        assert (second.state, second.state_reason, second.missed_offers) == (
            "not_ready",
            "missed",
            2,
        )
        assert second.current_call_id is None
        assert ready_agents(session, "customer") == []
    # Back by their own hand: the count starts again; a taken call also resets it.
    assert move(db, config, uid, "ready", 60).missed_offers == 0
    move(db, config, uid, "ringing", 70, by="system", call_id="c3")
    with db.session() as session:
        assert record_missed_offer(session, config, uid, at(85)).missed_offers == 1
    move(db, config, uid, "ringing", 90, by="system", call_id="c4")
    assert move(db, config, uid, "on_call", 95, by="system").missed_offers == 0
    states = [r.state for r in log_rows(db, uid)]
    assert states[-4:] == ["ringing", "ready", "ringing", "on_call"]
    assert [(r.state, r.reason) for r in log_rows(db, uid) if r.reason] == [("not_ready", "missed")]


def test_profiles_are_checked_and_audited(db: Database) -> None:
    uid, other = agent(db, "zhao"), agent(db, "qian")
    admin = agent(db, "boss", "admin")
    with db.session() as session:
        by = session.get(User, admin)
        profile = configure_agent(
            session,
            uid,
            ProfileChanges(extension="8001", phone_uri="sip:8001@127.0.0.1:5080", level=2),
            by=by,
        )
        assert (profile.extension, profile.phone_uri, profile.level) == (
            "8001",
            "sip:8001@127.0.0.1:5080",
            2,
        )
        (entry,) = recent_audit(session, action="agent.profile")
        assert entry.username == "boss" and entry.detail["extension"] == "8001"
    bad = [
        (ProfileChanges(extension="80a1"), 422, "extension"),
        (ProfileChanges(phone_uri="tel:8001"), 422, "sip:"),
        (ProfileChanges(phone_uri="sip:" + "x" * 252), 422, "sip:"),
        (ProfileChanges(lines=["customer", "vip"]), 422, "lines"),
        (ProfileChanges(lines=[]), 422, "lines"),
        (ProfileChanges(languages=["Chinese"]), 422, "languages"),
        (ProfileChanges(level=6), 422, "level"),
        (ProfileChanges(extension="8001"), 409, "belongs to another agent"),
    ]
    for changes, status, words in bad:
        with pytest.raises(AgentError) as err, db.session() as session:
            configure_agent(session, other, changes)
        assert err.value.status == status and words in err.value.message
    with pytest.raises(AgentError) as err, db.session() as session:
        configure_agent(session, 999, ProfileChanges(level=2))
    assert err.value.status == 404
    with db.session() as session:
        cleared = configure_agent(session, uid, ProfileChanges(clear_extension=True))
        assert cleared.extension is None and cleared.level == 2
        assert configure_agent(session, other, ProfileChanges(extension="8001")).extension == "8001"


def test_state_rows_survive_on_both_databases(database_url: str, config: QueueConfig) -> None:
    """The migration and the locked read-modify-write on SQLite and PostgreSQL."""
    database = Database(database_url)
    database.migrate()
    try:
        uid = agent(database, "pg-agent")
        move(database, config, uid, "ready", 0)
        move(database, config, uid, "ringing", 5, by="system", call_id="c1")
        with database.session() as session:
            assert ready_agents(session, "customer") == []
            assert record_missed_offer(session, config, uid, at(20)).state == "ready"
            assert [p.user_id for p in ready_agents(session, "customer")] == [uid]
        assert [r.seconds for r in log_rows(database, uid)] == [0, 5, 15, None]
    finally:
        database.dispose()


# -- the queue file --------------------------------------------------------------------------
def test_the_packaged_queue_file_loads(config: QueueConfig) -> None:
    assert config.reason_codes == ("break", "lunch", "training", "meeting", "after_call")
    assert [r.zh for r in config.agents.not_ready_reasons] == [
        "小休",
        "用餐",
        "培训",
        "会议",
        "整理",
    ]
    rules = config.agents
    assert (rules.wrap_up_seconds, rules.max_missed_offers, rules.ring_seconds) == (30, 2, 15)
    assert [q.name for q in config.queues] == ["customer", "rider", "merchant", "vip"]
    customer = config.queue("customer")
    assert (customer.line, customer.language, customer.min_level) == ("customer", "zh", 1)
    assert (customer.priority_vip, customer.priority_urgent_ticket) == (10, 20)
    assert (customer.announce_every_seconds, customer.max_wait_seconds) == (30, 300)
    assert customer.service_level_seconds == 20
    assert config.queue("vip").min_level == 3
    with pytest.raises(ValueError, match="unknown queue 'vp'"):
        config.queue("vp")


def _variant(tmp_path: Path, replace: tuple[str, str] | None = None, append: str = "") -> Path:
    text = DEFAULT_QUEUE_CONFIG.read_text(encoding="utf-8")
    if replace is not None:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    path = tmp_path / "queues.toml"
    path.write_text(text + append, encoding="utf-8")
    return path


_QUEUE = '\n[[queues]]\nname = "{name}"\nzh = "x"\nen = "x"\nline = "customer"\n'


@pytest.mark.parametrize(
    ("replace", "append", "expected"),
    [
        (("min_level = 3", "min_level = 7"), "",
         "queue 4 (vip), field min_level: Input should be less than or equal to 5"),
        (('line = "rider"', 'line = "riders"'), "", "queue 2 (rider), field line"),
        (None, _QUEUE.format(name="rider"), "queue 5 (rider), field name: used by queue 2"),
        (None, _QUEUE.format(name="vip") + "colour = 'red'\n",
         "queue 5 (vip), field colour: Extra inputs are not permitted"),
        (None, _QUEUE.format(name="Bad-Name"), "queue 5 (Bad-Name), field name"),
        (('name = "customer"', 'name = "customers"'), "",
         "queues: no 'customer' queue (the IVR hands callers to it)"),
        (("service_level_seconds = 15", "service_level_seconds = 200"), "",
         "queue 4 (vip): service_level_seconds (200) is longer than "
         "max_wait_seconds (180)"),
        (('code = "lunch"', 'code = "break"'), "",
         "agents.not_ready_reasons: reason 2 (break), field code: used by reason 1"),
        (('code = "lunch"', 'code = "missed"'), "",
         "reason 2 (missed), field code: 'missed' is the system's own reason"),
        (('zh = "用餐"\n', ""), "",
         "agents.not_ready_reasons: reason 2 (lunch), field zh: Field required"),
        (("ring_seconds = 15", "ring_seconds = 1"), "", "agents.ring_seconds: Input should be"),
        (("wrap_up_seconds = 30", "wrap_up_secs = 30"), "", "agents.wrap_up_secs: Extra inputs"),
        (("max_missed_offers = 2", "max_missed_offers = 0"), "", "agents.max_missed_offers"),
        (("[agents]", "[agents"), "", "not valid TOML"),
        (None, "\nqueue_count = 3\n", "queue 4 (vip), field queue_count: Extra inputs"),
    ],
)  # fmt: skip
def test_queue_file_errors_name_their_place(
    tmp_path: Path, replace: tuple[str, str] | None, append: str, expected: str
) -> None:
    path = _variant(tmp_path, replace, append)
    with pytest.raises(QueueConfigError) as err:
        load_queue_config(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_queue_file_needs_queues_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "queues.toml"
    path.write_text("[agents]\nnot_ready_reasons = []\nqueues = []\n", encoding="utf-8")
    with pytest.raises(QueueConfigError) as err:
        load_queue_config(path)
    assert "agents.not_ready_reasons: Tuple should have at least 1 item" in str(err.value)
    assert "agents.queues: Extra inputs" in str(err.value)
    assert "queues: Field required" in str(err.value)
    with pytest.raises(QueueConfigError, match="cannot read queue config"):
        load_queue_config(tmp_path / "nope.toml")
