"""``tingyin serve``: every part in one supervised process tree.

Order: store (migrations) → bus → IPC listener → media workers → Kamailio → web; then the
``ready`` line. Shutdown runs the other way round, so calls end before the store closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import signal
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TextIO

import uvicorn

from tingyin.agents.config import QueueConfig, QueueConfigError, load_queue_config
from tingyin.asr.models import ModelNotFoundError, resolve_model
from tingyin.asr.service import AsrService
from tingyin.bus import EventBus
from tingyin.config import Settings
from tingyin.hub.cdr_writer import CdrWriter
from tingyin.hub.supervisor import StartupError, Supervisor
from tingyin.ivr.actions import HubIvrActions
from tingyin.ivr.menu import DEFAULT_MENU, Menu, MenuError, fallback_menu, load_menu
from tingyin.ivr.service import IvrService
from tingyin.listening.rules import AlertRulesError, load_alert_rules
from tingyin.listening.service import ListeningService
from tingyin.listening.sip_monitor import SipMonitors
from tingyin.qa.service import QaConfigError, load_qa_rules, qa_service
from tingyin.reports.service import ReportService
from tingyin.screenpop.lookups import ProcessLookups
from tingyin.screenpop.policy import PolicyError
from tingyin.screenpop.service import ScreenPopService
from tingyin.screenpop.wiring import context_builder
from tingyin.softphone.peer import pin_host_addresses
from tingyin.softphone.service import ReachableAgents, SoftphoneService
from tingyin.store import Database
from tingyin.telephony.acd import Acd, AgentDirectory, QueueRules
from tingyin.telephony.acd_directory import StoreDirectory
from tingyin.telephony.audio_relay import AudioRelay
from tingyin.telephony.control import CallControl
from tingyin.telephony.desk_dialer import DeskDialer
from tingyin.telephony.ipc import HubListener
from tingyin.telephony.ports import free_port
from tingyin.telephony.prompts import greeting_path, write_hold_music
from tingyin.tickets.policy import TicketPolicyError, load_ticket_policy
from tingyin.tickets.survey import SurveyRunner
from tingyin.tickets.watch import SlaWatch
from tingyin.tickets.webhooks import WebhookSender
from tingyin.web.app import create_app
from tingyin.web.context import AppContext

log = logging.getLogger(__name__)

UNIX_PATH_MAX = 100
SWITCH_INTERVAL_S = 0.0005  # sun_path is 108 bytes on Linux


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The hub owns SIGINT/SIGTERM: uvicorn must not re-raise them before workers stop.
        yield


def load_secret_key(settings: Settings) -> str:
    """The configured key, or one generated once and kept (0600) in the data directory."""
    if settings.auth.secret_key is not None:
        return settings.auth.secret_key.get_secret_value()
    path = settings.data_dir / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def hub_socket_path(settings: Settings, name: str = "hub") -> Path:
    path = (settings.run_dir / f"{name}.sock").resolve()
    if len(str(path)) <= UNIX_PATH_MAX:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"tingyin-{digest}-{name}.sock"


def asr_service(settings: Settings, bus: EventBus) -> AsrService | None:
    """Live transcription if a model is there; without one, calls are still recorded."""
    if not settings.asr.enabled:
        return None
    try:
        model = resolve_model(settings.asr.model, settings.models_dir, settings.asr.language)
    except ModelNotFoundError as exc:
        if settings.asr.model:  # asked for by name: a configuration error
            raise StartupError(str(exc)) from None
        log.warning("live transcription is off: %s", exc)
        return None
    log.info("live transcription with model %s (%s)", model.name, model.source)
    return AsrService(settings, bus, model.path, hub_socket_path(settings, "asr"), model.name)


def ivr_menu(settings: Settings) -> tuple[Menu | None, str]:
    """The IVR menu, or while its file is broken the fallback (greeting, then the queue) and the
    error — the line keeps answering; the error is in the log and on /api/health."""
    if not settings.ivr.enabled:
        return None, ""
    try:
        return load_menu(settings.ivr.menu_file), ""
    except MenuError as exc:
        log.error("%s\nthe IVR falls back to: greeting, then the agents (until this is fixed)", exc)
        return fallback_menu(settings.sip.greeting_text), str(exc)


def acd_for(
    settings: Settings,
    config: QueueConfig,
    db: Database,
    bus: EventBus,
    send_command: Callable[[int, dict[str, Any]], Coroutine[Any, Any, bool]],
    worker_of: Callable[[str], int | None],
    softphones: SoftphoneService | None = None,
) -> Acd:
    """Queues from the queue file; agents' states from the store (browser agents only while
    their softphone is connected)."""
    queues = {
        q.name: QueueRules(
            name=q.name, line=q.line, language=q.language, min_level=q.min_level,
            priority_vip=q.priority_vip, priority_urgent_ticket=q.priority_urgent_ticket,
            announce_every_seconds=q.announce_every_seconds,
            max_wait_seconds=q.max_wait_seconds, offer_callback=q.offer_callback,
        )
        for q in config.queues
    }  # fmt: skip
    rules = config.agents
    directory: AgentDirectory = StoreDirectory(db, config)
    if softphones is not None:
        directory = ReachableAgents(directory, softphones)
    return Acd(
        bus, directory, queues, send_command, worker_of,
        ring_seconds=rules.ring_seconds, wrap_up_seconds=rules.wrap_up_seconds,
        caller_id=settings.outbound.caller_id,
        dial_uri=settings.outbound.uri_for if settings.outbound.dial_uri else None,
    )  # fmt: skip


def softphone_service(
    settings: Settings,
    bus: EventBus,
    listener: HubListener,
    worker_of: Callable[[str], int | None],
    prompts_dir: Path,
) -> SoftphoneService | None:
    """Browser agents' WebRTC legs, their audio riding the workers' IPC sockets."""
    config = settings.softphone
    if not config.enabled:
        return None
    pin_host_addresses(config.ice_addresses)
    service = SoftphoneService(
        bus, listener.send_command, listener.send_pcm, worker_of,
        hold_music=lambda: write_hold_music(prompts_dir / "hold-music.wav"),
        codec=config.codec, jitter_frames=config.jitter_frames,
        reconnect_seconds=config.reconnect_seconds,
    )  # fmt: skip
    return service


def leg_audio_router(
    phones: SipMonitors, softphones: SoftphoneService | None
) -> Callable[[str, bytes], None]:
    """IPC ``L`` frames: a supervisor phone's relay, else a browser's ear."""
    ear = softphones.ear if softphones is not None else None

    def route(leg_id: str, pcm: bytes) -> None:
        if not phones.relay(leg_id, pcm) and ear is not None:
            ear(leg_id, pcm)

    return route


async def serve(
    settings: Settings,
    *,
    out: TextIO,
    after_ready: Callable[[str, int, int], Coroutine[Any, Any, None]] | None = None,
) -> int:
    loop = asyncio.get_running_loop()
    # Screen-pop lookups run many short queries, each giving up the GIL; with the default 5 ms
    # switch interval every re-acquire may wait behind the CDR writer or the event loop
    # (bench/screenpop.py: p50 20 ms in the hub against 5 ms alone).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    for directory in (settings.data_dir, settings.recordings_dir, settings.run_dir):
        directory.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    await asyncio.to_thread(db.migrate)
    secret_key = load_secret_key(settings)
    try:
        builder = context_builder(settings, db)
        ticket_policy = load_ticket_policy(settings.tickets.policy_file)
        queue_config = load_queue_config(settings.queues.config_file)
        qa_rules = load_qa_rules(settings)
        alert_rules = load_alert_rules(settings.listening.rules_file)
    except (
        PolicyError,
        TicketPolicyError,
        QueueConfigError,
        QaConfigError,
        AlertRulesError,
    ) as exc:
        raise StartupError(str(exc)) from None
    menu, menu_error = ivr_menu(settings)

    bus = EventBus(loop)
    bus.start()
    cdr = CdrWriter(db, bus, settings.recordings_dir)
    cdr.start()
    qa = qa_service(settings, db, bus, qa_rules) if qa_rules is not None else None
    alerts = ListeningService(bus, alert_rules, db) if settings.listening.alerts else None
    if alerts is not None:
        alerts.start()
    webhooks, background_stop = WebhookSender(db, ticket_policy), asyncio.Event()
    webhooks_task = loop.create_task(webhooks.run(background_stop), name="webhooks")
    sla_watch = loop.create_task(SlaWatch(db, ticket_policy, bus).run(background_stop), name="sla")
    reports = loop.create_task(  # pre-aggregates every minute, the daily report each morning
        ReportService(db, settings, ticket_policy).run(background_stop), name="reports"
    )
    lookups = ProcessLookups(settings, builder, settings.screenpop.lookup_processes)
    screenpop = ScreenPopService(lookups, bus, builder.policy)
    listener = HubListener(hub_socket_path(settings), lambda _worker, event: bus.publish(event))
    await listener.start()
    supervisor = Supervisor(settings, bus, listener)
    audio = AudioRelay(bus, listener.send_command, supervisor.worker_of)
    pick = supervisor.least_busy_worker
    control = CallControl(bus, listener.send_command, pick, settings.outbound)
    surveys: asyncio.Task[None] | None = None
    if control.enabled and ticket_policy.followup.enabled:
        runner = SurveyRunner(
            db, ticket_policy, control, settings.data_dir / "prompts", language=settings.language
        )
        surveys = loop.create_task(runner.run(background_stop), name="surveys")
    prompts_dir = settings.ivr.prompt_cache or settings.data_dir / "prompts"
    ivr: IvrService | None = None
    if menu is not None:
        actions = HubIvrActions(
            menu, builder, db, ticket_policy, prompts_dir,
            language=settings.language, timezone=settings.timezone,
        )  # fmt: skip
        menu_dir = (settings.ivr.menu_file or DEFAULT_MENU).parent
        ivr = IvrService(bus, control, menu, actions, menu_dir)
    softphones = softphone_service(settings, bus, listener, supervisor.worker_of, prompts_dir)
    phones = SipMonitors(
        bus, db, settings, listener.send_command, listener.send_pcm, supervisor.worker_of
    )
    listener.on_leg_audio = leg_audio_router(phones, softphones)
    dialer = DeskDialer(bus, control, listener.send_command, db, queue_config)
    acd = acd_for(
        settings, queue_config, db, bus, listener.send_command, supervisor.worker_of, softphones
    )
    acd.hold_music = lambda: write_hold_music(prompts_dir / "hold-music.wav")  # consult, ring out
    if ivr is not None:
        acd.on_answered = ivr.release
        acd.on_requeued = ivr.hold  # a blind transfer: hold music until the next agent
        ivr.queue_place = acd.place_of
        if control.enabled:  # callbacks dial through the outbound route
            acd.dial_back = ivr.call_back
            acd.owed_callbacks = StoreDirectory(db, queue_config).pending_callbacks
            ivr.callback_in, ivr.take_callback = acd.callback_in, acd.take_callback
    listener.on_audio = audio.on_audio
    asr = asr_service(settings, bus)
    if asr is not None:
        audio.add_tap(asr.dispatcher.on_audio)
        supervisor.stream_all = True

    def health() -> dict[str, object]:
        ivr_state = {"menu": "fallback" if menu_error else "ok", "error": menu_error}
        return supervisor.health() | {
            "asr": asr.health() if asr is not None else None,
            "ivr": ivr_state if menu is not None else None,
        }

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    http_port = settings.http.port or free_port(settings.http.bind_address)
    app = create_app(
        AppContext(
            settings,
            db,
            secret_key,
            bus=bus,
            health=health,
            audio=audio,
            screenpop=builder,
            tickets=ticket_policy,
            softphones=softphones,
        )
    )
    server = _Server(
        uvicorn.Config(
            app,
            host=settings.http.bind_address,
            port=http_port,
            log_level=settings.log_level.lower(),
            # Uvicorn's records propagate to our root handlers, whose filter scrubs tokens.
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    server_task: asyncio.Task[None] | None = None
    try:
        # With the IVR on, the hub says everything; the workers' own greeting is for without it.
        greeting = None
        if ivr is None:
            greeting = greeting_path(
                settings.sip.greeting_wav, settings.sip.greeting_text, settings.language,
                prompts_dir,
            )  # fmt: skip
        else:
            await ivr.start()
        if asr is not None:
            try:
                await asr.start()
            except (RuntimeError, TimeoutError) as exc:
                raise StartupError(f"live transcription did not start: {exc}") from None
        await screenpop.start()
        await acd.start()
        await supervisor.start(greeting)
        server_task = loop.create_task(server.serve(), name="http")
        while not server.started:
            if server_task.done():
                raise RuntimeError(f"web server failed to start on port {http_port}")
            await asyncio.sleep(0.02)
        host = settings.sip.bind_address
        print(
            f"ready sip={host}:{supervisor.sip_port} "
            f"http=http://{settings.http.bind_address}:{http_port}",
            file=out,
            flush=True,
        )
        extra: asyncio.Task[None] | None = None
        if after_ready is not None:
            extra = loop.create_task(after_ready(host, supervisor.sip_port, http_port))
        await stop.wait()
        if extra is not None:
            extra.cancel()
            await asyncio.gather(extra, return_exceptions=True)
        return 0
    finally:
        log.info("shutting down")
        if server_task is not None:
            server.should_exit = True
            await asyncio.gather(server_task, return_exceptions=True)
        if surveys is not None:  # calls in progress end before their workers do
            background_stop.set()
            await asyncio.gather(surveys, return_exceptions=True)
        await dialer.stop()
        await acd.stop()
        if ivr is not None:
            await ivr.stop()
        await supervisor.stop()
        if asr is not None:
            await asr.stop()
        await listener.stop()
        await screenpop.stop()
        await bus.drain()
        background_stop.set()
        await asyncio.gather(webhooks_task, sla_watch, reports)
        if qa is not None:
            await qa.stop()
        if alerts is not None:
            await alerts.stop()
        await cdr.stop()
        await bus.stop()
        db.dispose()
