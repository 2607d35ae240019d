"""``tingyin transcribe``: (re)transcribe stored recordings, e.g. after installing a better model.

Runs in this process (the server need not be up): one model load, one warm recognizer reused
for every leg, each leg's transcript swapped in one transaction so readers never see half.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from tingyin.asr.actions import replace_leg_transcript
from tingyin.asr.cli import ConfigOpt, DataDirOpt, _fail, _load
from tingyin.asr.models import ModelNotFoundError, resolve_model
from tingyin.asr.offline import RecordingError, transcribe_channel
from tingyin.asr.queries import calls_to_transcribe
from tingyin.bus.events import Event, TranscriptFinal
from tingyin.store import Database


def transcribe(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    call: Annotated[str | None, typer.Option("--call", help="One call id")] = None,
    since: Annotated[datetime | None, typer.Option(help="Calls started at or after (ISO)")] = None,
    until: Annotated[datetime | None, typer.Option(help="Calls started before (ISO)")] = None,
    redo: Annotated[bool, typer.Option("--all", help="Also legs already complete")] = False,
) -> None:
    """Transcribe recordings whose transcripts are missing (or all of them with --all)."""
    settings = _load(config, data_dir)
    try:
        model = resolve_model(settings.asr.model, settings.models_dir, settings.asr.language)
    except ModelNotFoundError as exc:
        _fail(str(exc))
    db = Database(settings.resolved_database_url)
    db.migrate()
    with db.session() as session:
        todo = [
            (c.id, c.recording_path or "", c.recording_seconds or 0.0, legs)
            for c, legs in calls_to_transcribe(
                session, call_id=call, since=since, until=until, missing_only=not redo
            )
        ]
    if not todo:
        typer.echo("nothing to transcribe")
        return
    from tingyin.asr.engine import Recognizer, load_model  # vosk: only when there is work

    typer.echo(f"loading model {model.name} …", err=True)
    rec = Recognizer(load_model(model.path))
    total = sum(seconds * len(legs) for _, _, seconds, legs in todo)
    done, failed = 0, 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s of audio"),
        TimeRemainingColumn(),
    ) as progress:
        task = progress.add_task("transcribing", total=total)
        base = 0.0
        for call_id, stored, seconds, legs in todo:
            path = settings.recordings_dir / stored
            for leg in legs:
                finals: list[TranscriptFinal] = []

                def keep(event: Event, out: list[TranscriptFinal] = finals) -> None:
                    if isinstance(event, TranscriptFinal):
                        out.append(event)

                def advance(at: float, start: float = base) -> None:
                    progress.update(task, completed=start + at)

                try:
                    transcribe_channel(
                        path,
                        call_id,
                        leg,
                        rec,
                        keep,
                        silence_ms=settings.asr.endpoint_silence_ms,
                        progress=advance,
                    )
                except (RecordingError, OSError) as exc:
                    failed += 1
                    progress.console.print(f"[red]{call_id} {leg}: {exc}")
                else:
                    with db.session() as session:
                        replace_leg_transcript(session, call_id, leg, finals)
                    done += 1
                rec.final()
                rec.reset()
                base += seconds
                progress.update(task, completed=base)
    db.dispose()
    typer.echo(f"transcribed {done} leg(s) of {len(todo)} call(s); {failed} failed")
    if failed:
        raise typer.Exit(1)
