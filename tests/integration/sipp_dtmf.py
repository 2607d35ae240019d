"""SIPp as a caller pressing RFC 2833 keys: a scenario built per test from (seconds, keys).

The keys are SIPp's own DTMF captures (``/usr/share/sip-tester/dtmf_2833_*.pcap``, PT 101):
each is one event, seven updates 20 ms apart and the end packet three times, 140 ms in all.
Played as they are they cannot spell most numbers: every capture has the same SSRC and fixed
sequence numbers and timestamps ("1" is 7984-7991, "0" 12080-12087, …), so a repeated key
("88") reaches pjmedia as duplicates, a key whose numbers lie a little below the last one's as
reordered packets (both dropped), and a jump of thousands as a bad sequence (its first packets
dropped). ``write_key_pcaps`` therefore copies each key's capture for each press with the RTP
sequence numbers running on from the previous key and a timestamp of its own (the moment it is
pressed, on an 8 kHz clock); the payload — event, volume, durations, end bit — is untouched.

Each key is followed by ``KEY_GAP_MS`` of quiet before the next one starts: SIPp replaces a
playing capture when another play starts, so keys closer than 140 ms would cut one another
short, and a gap of about a human's (~100 ms) keeps one key from running into the next.

The call ends either way: we send BYE at ``hold_s`` after the answer, or the IVR hangs up
first. A ``<recv request="BYE" optional="global" next="ivr_hung_up">`` among the optional
responses before the INVITE's 200 (SIPp refuses an optional recv that no mandatory recv follows
before a send or pause) matches a BYE from the far end at any later point: SIPp looks back for
a global recv when a message fits nothing ahead, during a pause, a key, or while we wait for
the 200 to our own BYE. The ``ivr_hung_up`` branch answers it 200 OK and the scenario ends
successfully; when we hang up, the 200 to our BYE jumps over that branch.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tests.integration.sipp_tools import free_port, sipp_command

PCAP_DIR = Path("/usr/share/sip-tester")
KEY_NAMES = {**{d: d for d in "0123456789"}, "*": "star", "#": "pound"}
KEY_PLAY_MS = 140  # one capture: 7 updates 20 ms apart, then the end packet (sent 3 times)
KEY_GAP_MS = 110  # quiet after a key before the next one starts
KEY_STEP_MS = KEY_PLAY_MS + KEY_GAP_MS
PRESS_DIR = "keys"  # under SIPp's working directory: the captures this call plays
FIRST_SEQ = 1000
DIALED = "4008001234"


class SipTarget(Protocol):
    sip_host: str
    sip_port: int


def _presses(keys: Sequence[tuple[float, str]]) -> list[tuple[int, str]]:
    """Every key with its moment (ms after the answer), in order; a press that would start
    before the previous key's step is over waits for it."""
    out: list[tuple[int, str]] = []
    cursor = 0
    for at, group in sorted(keys):
        cursor = max(cursor, round(at * 1000))
        for key in group:
            if key not in KEY_NAMES:
                raise ValueError(f"no DTMF capture for key {key!r}")
            out.append((cursor, key))
            cursor += KEY_STEP_MS
    return out


def press_file(index: int, key: str) -> str:
    """The capture the scenario plays for the ``index``-th key (relative to SIPp's cwd)."""
    return f"{PRESS_DIR}/{index:03d}-{KEY_NAMES[key]}.pcap"


def dtmf_scenario(keys: list[tuple[float, str]], hold_s: float) -> str:
    """A UAC scenario: calls ``[service]`` as ``[caller]`` offering PCMA + telephone-event/8000
    (PT 101), presses each group of keys ``seconds`` after the 200 OK, and hangs up ``hold_s``
    after it, unless the far end hangs up first (both end the scenario successfully).

    The captures it plays are ``press_file(i, key)``; ``write_key_pcaps`` makes them."""
    steps: list[str] = []
    cursor = 0
    for index, (at_ms, key) in enumerate(_presses(keys)):
        if at_ms > cursor:
            steps.append(f'  <pause milliseconds="{at_ms - cursor}"/>')
            cursor = at_ms
        steps.append(
            "  <nop>\n    <action>\n"
            f'      <exec play_pcap_audio="{press_file(index, key)}"/>\n'
            "    </action>\n  </nop>"
        )
    hold_ms = round(hold_s * 1000)
    if hold_ms > cursor:
        steps.append(f'  <pause milliseconds="{hold_ms - cursor}"/>')
    return _TEMPLATE.replace("@STEPS@", "\n".join(steps))


def write_key_pcaps(keys: list[tuple[float, str]], workdir: Path) -> list[Path]:
    """The captures ``dtmf_scenario(keys, …)`` plays, written under ``workdir``: SIPp's own,
    renumbered so that the RTP stream of the call runs on from key to key."""
    target = workdir / PRESS_DIR
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seq = FIRST_SEQ
    for index, (at_ms, key) in enumerate(_presses(keys)):
        data, used = _renumber(
            (PCAP_DIR / f"dtmf_2833_{KEY_NAMES[key]}.pcap").read_bytes(), seq, 8 * at_ms
        )
        seq += used
        path = workdir / press_file(index, key)
        path.write_bytes(data)
        written.append(path)
    return written


def _renumber(pcap: bytes, first_seq: int, timestamp: int) -> tuple[bytes, int]:
    """One capture with its RTP sequence numbers from ``first_seq`` (gaps and repeats kept) and
    ``timestamp``; and how many sequence numbers it used."""
    magic = struct.unpack_from("<I", pcap)[0]
    if magic != 0xA1B2C3D4:
        raise ValueError("expected a little-endian microsecond pcap")
    out = bytearray(pcap)
    offset, base, highest = 24, -1, -1
    while offset + 16 <= len(out):
        length = struct.unpack_from("<I", out, offset + 8)[0]
        packet = offset + 16
        ip = packet + 14  # Ethernet
        rtp = ip + (out[ip] & 0x0F) * 4 + 8  # IPv4 header, then UDP
        seq = struct.unpack_from(">H", out, rtp + 2)[0]
        if base < 0:
            base = seq
        step = (seq - base) & 0xFFFF
        highest = max(highest, step)
        struct.pack_into(">HI", out, rtp + 2, (first_seq + step) & 0xFFFF, timestamp & 0xFFFFFFFF)
        offset = packet + length
    return bytes(out), highest + 1


def run_sipp_dtmf(
    hub: SipTarget,
    caller: str,
    keys: list[tuple[float, str]],
    hold_s: float,
    workdir: Path,
    *,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Place one SIPp call to ``hub`` from ``caller`` pressing ``keys``; SIPp's exit code is 0
    when the call went through the whole scenario (either side hanging up)."""
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "dtmf_caller.xml"
    scenario.write_text(dtmf_scenario(keys, hold_s), encoding="iso-8859-1")
    write_key_pcaps(keys, workdir)
    limit = timeout if timeout is not None else hold_s + 20
    args = [
        f"{hub.sip_host}:{hub.sip_port}", "-sf", str(scenario), "-key", "caller", caller,
        "-s", DIALED, "-m", "1", "-i", "127.0.0.1", "-p", str(free_port()),
        "-timeout", f"{int(limit)}s", "-trace_err",
    ]  # fmt: skip
    # Playing captures sends through a raw socket: SIPp must run as root (or with CAP_NET_RAW).
    return subprocess.run(
        sipp_command(args),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=limit + 15,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def sipp_report(proc: subprocess.CompletedProcess[str], workdir: Path) -> str:
    """SIPp's exit code, output and error log, for an assertion message."""
    errors = "".join(p.read_text(errors="replace")[-3000:] for p in workdir.glob("*_errors.log"))
    return f"SIPp exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}\n{errors}"


_TEMPLATE = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Made by tests/integration/sipp_dtmf.py: a caller pressing RFC 2833 keys. -->
<scenario name="tingyin caller pressing keys">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]C[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[caller]@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15

    ]]>
  </send>

  <recv response="100" optional="true">
  </recv>

  <recv response="180" optional="true">
  </recv>

  <!-- A BYE cannot come before the 200; optional="global" lets a BYE from the IVR match this
       at any later point of the call (a pause, a key, waiting for the 200 to our own BYE). It
       stands before the 200 because SIPp wants every optional recv followed by a mandatory
       one before the next send, pause or nop. -->
  <recv request="BYE" optional="global" next="ivr_hung_up">
  </recv>

  <recv response="200" rtd="true" rrs="true">
  </recv>

  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]C[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:[caller]@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>

@STEPS@

  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]C[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:[caller]@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>

  <recv response="200" crlf="true" next="done">
  </recv>

  <label id="ivr_hung_up"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>

  <label id="done"/>
  <nop/>
</scenario>
"""
