"""The CDR API and recordings: roles, the audit row, and no file outside the recordings."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tingyin.audit.queries import recent_audit
from tingyin.bus.events import CallAlert
from tingyin.config import Settings
from tingyin.store import Database
from tingyin.telephony.actions import apply_call_event
from tingyin.telephony.api import recording_file

from .conftest import Login
from .support import make_call, write_wav


def test_calls_are_listed_newest_first_with_their_digits(
    client: TestClient, db: Database, login: Login
) -> None:
    make_call(db, "c-old", digits="12#", minutes_ago=10)
    make_call(db, "c-new", ended=False, minutes_ago=1)
    calls = client.get("/api/calls", headers=login("agent")).json()
    assert [c["id"] for c in calls] == ["c-new", "c-old"]
    old = calls[1]
    assert (old["status"], old["dtmf"], old["caller_number"]) == ("ended", "12#", "13812345678")
    assert old["answered_at"] and old["ended_at"] and old["codec"] == "PCMU"
    assert calls[0]["status"] == "answered" and calls[0]["ended_at"] is None


def test_calls_filters_and_limits(client: TestClient, db: Database, login: Login) -> None:
    make_call(db, "c-1", minutes_ago=3)
    make_call(db, "c-2", minutes_ago=2, ended=False)
    make_call(db, "c-3", minutes_ago=1)
    headers = login("agent")

    def ids(**params: str | int) -> list[str]:
        response = client.get("/api/calls", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()]

    assert ids(limit=2) == ["c-3", "c-2"]
    assert ids(status="ended") == ["c-3", "c-1"]
    before = client.get("/api/calls/c-2", headers=headers).json()["started_at"]
    assert ids(before=before) == ["c-1"]
    for bad in ({"limit": 501}, {"limit": 0}, {"status": "bogus"}, {"before": "2024-01-01T00:00"}):
        response = client.get("/api/calls", params=bad, headers=headers)
        assert response.status_code == 422, bad  # a naive time is ambiguous: refused


def test_call_detail_lists_its_events(client: TestClient, db: Database, login: Login) -> None:
    make_call(db, "c-1", digits="1#")
    headers = login("agent")
    detail = client.get("/api/calls/c-1", headers=headers).json()
    assert detail["dtmf"] == "1#"
    assert [(e["kind"], e["data"]["digit"]) for e in detail["events"]] == [
        ("dtmf", "1"),
        ("dtmf", "#"),
    ]
    assert client.get("/api/calls/nope", headers=headers).status_code == 404


def test_call_detail_shows_the_rooms_alerts_to_reviewers_only(
    client: TestClient, db: Database, login: Login
) -> None:
    """Alerts reach the room's roles live (/ws/events); the stored copy is no wider."""
    make_call(db, "c-1", digits="1")
    with db.session() as session:
        alert = CallAlert(call_id="c-1", rule="forbidden_phrase", kind="phrase",
                          severity="warning", at_seconds=3.0, text="不知道")  # fmt: skip
        apply_call_event(session, alert)

    def kinds(role: str) -> list[str]:
        response = client.get("/api/calls/c-1", headers=login(role))
        assert response.status_code == 200, response.text
        return [e["kind"] for e in response.json()["events"]]

    assert kinds("agent") == ["dtmf"]
    for role in ("supervisor", "qa", "admin"):
        assert kinds(role) == ["dtmf", "alert"], role


def test_agents_may_not_download_recordings(
    client: TestClient, db: Database, settings: Settings, login: Login
) -> None:
    write_wav(settings.recordings_dir / "2025/01/02/c-1.wav")
    make_call(db, "c-1", recording="2025/01/02/c-1.wav")
    response = client.get("/api/calls/c-1/recording", headers=login("agent"))
    assert response.status_code == 403
    with db.session() as session:
        assert recent_audit(session, action="recording.download") == []


@pytest.mark.parametrize("role", ["supervisor", "qa", "admin"])
def test_a_recording_download_is_served_and_audited(
    client: TestClient, db: Database, settings: Settings, login: Login, role: str
) -> None:
    wav = write_wav(settings.recordings_dir / "2025/01/02/c-1.wav")
    make_call(db, "c-1", recording="2025/01/02/c-1.wav")
    response = client.get("/api/calls/c-1/recording", headers=login(role))
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.content == wav
    with db.session() as session:
        (entry,) = recent_audit(session, action="recording.download")
        assert (entry.username, entry.object_type, entry.object_id) == (f"u-{role}", "call", "c-1")


def test_recording_404s(client: TestClient, db: Database, settings: Settings, login: Login) -> None:
    make_call(db, "no-rec")
    make_call(db, "gone", recording="2025/01/02/gone.wav")  # the file was never written
    headers = login("qa")
    for call_id in ("no-rec", "gone", "no-such-call"):
        response = client.get(f"/api/calls/{call_id}/recording", headers=headers)
        assert response.status_code == 404, call_id
    with db.session() as session:
        assert recent_audit(session, action="recording.download") == []


@pytest.mark.parametrize(
    "stored", ["../secret_key", "../../outside.wav", "{outside}", "recordings/../secret_key"]
)
def test_a_path_outside_the_recordings_is_refused(
    client: TestClient, db: Database, settings: Settings, login: Login, stored: str
) -> None:
    (settings.data_dir / "secret_key").write_text("do not serve me")
    outside = settings.data_dir.parent / "outside.wav"
    write_wav(outside)
    make_call(db, "c-1", recording=stored.format(outside=outside))
    response = client.get("/api/calls/c-1/recording", headers=login("admin"))
    assert response.status_code == 404
    assert b"do not serve me" not in response.content


def test_a_symlink_out_of_the_recordings_is_refused(settings: Settings) -> None:
    (settings.data_dir / "secret_key").write_text("do not serve me")
    link = settings.recordings_dir / "2025" / "link.wav"
    link.parent.mkdir(parents=True)
    link.symlink_to(settings.data_dir / "secret_key")
    assert recording_file(settings, "2025/link.wav") is None


def test_recording_paths_relative_to_either_directory_or_absolute(settings: Settings) -> None:
    wav = settings.recordings_dir / "2025/01/02/c-1.wav"
    write_wav(wav)
    for stored in ("2025/01/02/c-1.wav", "recordings/2025/01/02/c-1.wav", str(wav.resolve())):
        assert recording_file(settings, stored) == wav.resolve(), stored
    assert recording_file(settings, "2025/01/02") is None  # a directory is not a recording
    assert recording_file(settings, "bad\0name.wav") is None


def test_relative_data_dir_resolves_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir=Path("data"))
    write_wav(tmp_path / "data/recordings/a.wav")
    assert recording_file(settings, "a.wav") == (tmp_path / "data/recordings/a.wav").resolve()
