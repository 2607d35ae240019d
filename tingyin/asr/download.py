"""Download official Vosk models into ``<data_dir>/models/NAME``, all or nothing.

The zip is streamed and unpacked into dot-named temporary paths inside ``models_dir`` (same
filesystem, so the final rename is atomic and other readers never see half a model).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from tingyin.asr.models import MARKER, ModelInfo, describe_model, looks_like_model

if TYPE_CHECKING:
    from rich.progress import Progress

_CHUNK = 1 << 20


class DownloadError(Exception):
    """The catalog or a model could not be fetched or installed; nothing was left behind."""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    url: str  # absolute: relative catalog URLs are resolved against the catalog's
    md5: str
    size: int
    lang: str
    type: str
    obsolete: bool
    version: str


def safe_url(url: str) -> str:
    """The URL without credentials or query (tokens live there) — fit for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a malformed port; urlopen will report it
        port = None
    if port is not None:
        host = f"{host}:{port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


@contextmanager
def _open(url: str, timeout: float) -> Iterator[http.client.HTTPResponse]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise DownloadError(f"only http(s) URLs can be downloaded, not {safe_url(url)}")
    query = f"?{parts.query}" if parts.query else ""
    request = urllib.request.Request(safe_url(url) + query)  # noqa: S310 (scheme checked above)
    if parts.username is not None:
        # Credentials go in a header that urllib does not forward to a redirect's host.
        pair = f"{parts.username}:{parts.password or ''}".encode()
        auth = "Basic " + base64.b64encode(pair).decode()
        request.add_unredirected_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            yield response
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{safe_url(url)}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"{safe_url(url)}: {_scrub(str(reason), url)}") from None


def _scrub(text: str, url: str) -> str:
    password = urllib.parse.urlsplit(url).password
    return text.replace(password, "***") if password else text


def fetch_catalog(url: str, timeout: float = 30) -> list[CatalogEntry]:
    """Vosk's model-list.json as entries; entries without a name or URL are skipped."""
    try:
        with _open(url, timeout) as response:
            data = json.loads(response.read())
    except DownloadError as exc:
        raise DownloadError(f"cannot fetch the model catalog: {exc}") from None
    except ValueError as exc:
        raise DownloadError(f"model catalog {safe_url(url)} is not JSON: {exc}") from None
    if not isinstance(data, list):
        raise DownloadError(f"model catalog {safe_url(url)} is not a JSON list")
    return [_entry(item, url) for item in data if _is_entry(item)]


def _is_entry(item: Any) -> bool:
    return isinstance(item, dict) and bool(item.get("name")) and bool(item.get("url"))


def _entry(item: dict[str, Any], catalog_url: str) -> CatalogEntry:
    try:
        size = int(item.get("size") or 0)
    except (TypeError, ValueError):
        size = 0
    return CatalogEntry(
        name=str(item["name"]),
        url=urllib.parse.urljoin(catalog_url, str(item["url"])),
        md5=str(item.get("md5") or "").lower(),
        size=size,
        lang=str(item.get("lang") or ""),
        type=str(item.get("type") or ""),
        obsolete=str(item.get("obsolete", "false")).strip().lower() == "true",
        version=str(item.get("version") or ""),
    )


def download_model(
    entry: CatalogEntry,
    models_dir: Path,
    *,
    progress: bool = True,
    force: bool = False,
    timeout: float = 60,
) -> ModelInfo:
    """Install ``entry`` as ``models_dir/NAME``; an installed one is returned unless ``force``."""
    name = entry.name
    if not name or name.startswith(".") or PurePosixPath(name).name != name or "\\" in name:
        raise DownloadError(f"refusing a catalog model name that is not a plain name: {name!r}")
    target = models_dir / name
    if looks_like_model(target) and not force:
        return describe_model(target)
    if target.exists() and not force:
        raise DownloadError(
            f"{target} exists but is not a complete model; remove it or use --force"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    fd, part_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".zip.part", dir=models_dir)
    part = Path(part_name)
    unpack: Path | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(entry, out, progress=progress, timeout=timeout)
        if entry.md5 and digest != entry.md5:
            raise DownloadError(
                f"md5 mismatch for {name}: the catalog says {entry.md5}, the download is {digest} "
                f"(corrupt or tampered download; nothing was installed)"
            )
        unpack = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".unpack", dir=models_dir))
        root = _unpack(part, unpack, name)
        marker = {
            "name": name,
            "lang": entry.lang,
            "md5": digest,
            "url": safe_url(entry.url),
            "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (root / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        _install(root, target, force=force)
        return describe_model(target, "downloaded")
    finally:
        part.unlink(missing_ok=True)
        if unpack is not None:  # gone already when the zip had no top folder and was installed
            shutil.rmtree(unpack, ignore_errors=True)


def _fetch(entry: CatalogEntry, out: IO[bytes], *, progress: bool, timeout: float) -> str:
    md5 = hashlib.md5(usedforsecurity=False)  # the catalog publishes md5; it checks integrity
    received = 0
    try:
        with _open(entry.url, timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with _progress_bar(progress) as bar:
                task = bar.add_task(entry.name, total=total or entry.size or None)
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    md5.update(chunk)
                    received += len(chunk)
                    bar.update(task, advance=len(chunk))
    except DownloadError as exc:  # also a broken connection mid-stream, or a full disk
        raise DownloadError(f"cannot download {entry.name}: {exc}") from None
    if total is not None and received != total:
        raise DownloadError(f"cannot download {entry.name}: got {received} of {total} bytes")
    return md5.hexdigest()


def _progress_bar(enabled: bool) -> Progress:
    # Imported here: every `tingyin` command imports this module, few of them download.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),  # stdout stays for results
        disable=not enabled,
        transient=True,
    )


def _unpack(archive: Path, into: Path, name: str) -> Path:
    """Unpack ``archive`` into ``into``; return the model directory inside it."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for member in members:
                path = member.filename.replace("\\", "/")
                parts = PurePosixPath(path).parts
                if path.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                    raise DownloadError(f"{name}: refusing unsafe path in the zip: {path!r}")
            needed = sum(m.file_size for m in members)
            if needed > shutil.disk_usage(into).free:
                raise DownloadError(f"{name}: unpacking needs {needed} bytes; not enough disk")
            zf.extractall(into)
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{name}: the download is not a valid zip ({exc})") from None
    except OSError as exc:  # e.g. the disk filled up after all
        raise DownloadError(f"{name}: cannot unpack: {exc}") from None
    # macOS-made zips carry a __MACOSX folder beside the model.
    children = [c for c in into.iterdir() if c.is_dir() and c.name != "__MACOSX"]
    if len(children) == 1 and looks_like_model(children[0]):
        return children[0]
    if looks_like_model(into):
        return into
    raise DownloadError(f"{name}: the zip holds no Vosk model (no am/, conf/model.conf, graph/)")


def _install(root: Path, target: Path, *, force: bool) -> None:
    """Rename ``root`` to ``target`` atomically; with ``force`` swap out what was there."""
    old: Path | None = None
    if force and target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    try:
        root.rename(target)
    except OSError as exc:
        if old is not None:
            old.rename(target)  # put the previous model back
        elif looks_like_model(target):
            return  # another download of the same model finished first
        raise DownloadError(f"cannot install {target}: {exc}") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
