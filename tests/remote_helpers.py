"""Real servers for the remote-repository tests: a Butler server over a repository and the file
server its datastore points at, plus file servers that misbehave (stall, 403).

Everything listens on 127.0.0.1 and is stopped by the code that started it. The Butler server is
the real one from ``lsst-daf-butler[server]`` run by uvicorn in a subprocess; it only signs
http/https/s3 URLs, so the repository's files are served by :class:`FileServer` and the server
gets a copy of ``butler.yaml`` whose ``datastore.root`` is that server's URL.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, Optional

from serve_helpers import free_port

REPO_NAME = "sample"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
SLOW_AFTER = 128 * 1024  # with a ``rate``, the bytes of an answer past this many come slowly


def _terminate(proc: Optional[subprocess.Popen]) -> None:
    """Stop a server process that is still running: SIGTERM, then SIGKILL after 10 s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class _Handler(BaseHTTPRequestHandler):
    """GET/HEAD of files under the server's root, with single byte ranges (as S3 and nginx do)."""

    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as nginx (tcp_nodelay on) and S3 do: without it the body written after the
    # headers waits for the client's delayed ACK, ~40 ms a request that no real file server costs
    disable_nagle_algorithm = True

    def log_message(self, *_args) -> None:  # quiet
        pass

    def _target(self) -> Optional[Path]:
        rel = urllib.request.url2pathname(self.path.split("?", 1)[0]).lstrip("/")
        path = (self.server.root / rel).resolve()  # type: ignore[attr-defined]
        if self.server.root not in path.parents and path != self.server.root:  # type: ignore[attr-defined]
            return None
        return path if path.is_file() else None

    def _serve(self, body: bool) -> None:
        server = self.server
        with server.count_lock:  # type: ignore[attr-defined]
            server.active += 1  # type: ignore[attr-defined]
            server.max_active = max(server.max_active, server.active)  # type: ignore[attr-defined]
        try:
            self._answer(body)
        finally:
            with server.count_lock:  # type: ignore[attr-defined]
                server.active -= 1  # type: ignore[attr-defined]

    def _answer(self, body: bool) -> None:
        server = self.server
        server.requests.append((self.command, self.path, self.headers.get("Range"),  # type: ignore[attr-defined]
                                self.headers.get("Authorization")))
        if server.delay:  # type: ignore[attr-defined]
            time.sleep(server.delay)  # type: ignore[attr-defined]  (a distant or busy server)
        mode = server.mode  # type: ignore[attr-defined]
        if mode == "stall":
            server.stalled.wait(60)  # type: ignore[attr-defined]
            return
        if mode == "403":
            self._status(403, b"Forbidden: signature expired")
            return
        if mode == "500":
            self._status(500, b"Internal Server Error")
            return
        path = self._target()
        if path is None:
            self._status(404, b"Not Found")
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        status = 200
        rng = self.headers.get("Range")
        if rng:
            m = _RANGE.match(rng.strip())
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:
                    start = max(0, size - int(m.group(2)))
                if start >= size or start > end:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
        length = end - start + 1
        rate = server.rate  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not body:
            return
        server.bytes_sent += length  # type: ignore[attr-defined]  (counted before the client can see it)
        with open(path, "rb") as fh:
            fh.seek(start)
            left = length
            while left:
                chunk = fh.read(min(left, 16384 if rate else 1 << 20))
                if not chunk:
                    break
                self.wfile.write(chunk)
                if rate and length - left >= SLOW_AFTER:  # a slow link for big answers (pixels), not headers
                    time.sleep(len(chunk) / rate)
                left -= len(chunk)

    def _status(self, code: int, text: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def do_GET(self) -> None:
        self._serve(True)

    def do_HEAD(self) -> None:
        self._serve(False)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a client that hung up: not news
        pass


@dataclass
class FileServer:
    """A threaded HTTP file server on 127.0.0.1; ``mode``: "ok", "stall", "403" or "500";
    ``delay``: seconds before each answer; ``rate``: bytes per second of a slow link past the first
:data:`SLOW_AFTER` bytes of an answer (0: no limit).
    ``max_active`` counts the most requests it was answering at once."""

    root: Path
    mode: str = "ok"
    port: int = 0
    delay: float = 0.0
    rate: float = 0.0
    _httpd: Optional[ThreadingHTTPServer] = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bytes_sent(self) -> int:
        return self._httpd.bytes_sent  # type: ignore[union-attr,attr-defined]

    @property
    def requests(self) -> list:
        return self._httpd.requests  # type: ignore[union-attr,attr-defined]

    @property
    def max_active(self) -> int:
        return self._httpd.max_active  # type: ignore[union-attr,attr-defined]

    def reset_counts(self) -> None:
        self._httpd.bytes_sent = 0  # type: ignore[union-attr,attr-defined]
        self._httpd.requests.clear()  # type: ignore[union-attr,attr-defined]
        self._httpd.max_active = 0  # type: ignore[union-attr,attr-defined]

    def set_pace(self, delay: float = 0.0, rate: float = 0.0) -> None:
        """Answer after ``delay`` seconds, at ``rate`` bytes per second (0, 0: at once, at full speed)."""
        self.delay, self.rate = delay, rate
        self._httpd.delay, self._httpd.rate = delay, rate  # type: ignore[union-attr,attr-defined]

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self._httpd.mode = mode  # type: ignore[union-attr,attr-defined]

    def start(self) -> "FileServer":
        httpd = _QuietServer(("127.0.0.1", self.port), _Handler)
        httpd.root = Path(self.root).resolve()  # type: ignore[attr-defined]
        httpd.mode = self.mode  # type: ignore[attr-defined]
        httpd.bytes_sent = 0  # type: ignore[attr-defined]
        httpd.requests = []  # type: ignore[attr-defined]
        httpd.stalled = threading.Event()  # type: ignore[attr-defined]
        httpd.delay, httpd.rate = self.delay, self.rate  # type: ignore[attr-defined]
        httpd.active = httpd.max_active = 0  # type: ignore[attr-defined]
        httpd.count_lock = threading.Lock()  # type: ignore[attr-defined]
        self._httpd = httpd
        self.port = httpd.server_address[1]
        threading.Thread(target=httpd.serve_forever, daemon=True, name=f"files:{self.port}").start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.stalled.set()  # type: ignore[attr-defined]
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


def server_config(repo: Path, file_url: str, dest: Path) -> Path:
    """A copy of ``repo/butler.yaml`` for the server: the datastore root is ``file_url`` and the
    registry the repository's own SQLite file (read by absolute path)."""
    import yaml

    config = yaml.safe_load((repo / "butler.yaml").read_text())
    config["datastore"]["root"] = file_url.rstrip("/") + "/"
    db = config["registry"]["db"].replace("<butlerRoot>", str(repo.resolve()))
    config["registry"]["db"] = db
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / "butler.yaml"
    out.write_text(yaml.safe_dump(config))
    return out


@dataclass
class ButlerServer:
    """The real Butler server (uvicorn) for one repository config, on 127.0.0.1."""

    config_uri: Path
    name: str = REPO_NAME
    port: int = 0
    proc: Optional[subprocess.Popen] = None
    log: Optional[Path] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/butler/repo/{self.name}"

    def start(self, timeout: float = 60.0) -> "ButlerServer":
        self.port = self.port or free_port()
        env = dict(os.environ)
        env.update({
            "DAF_BUTLER_SERVER_REPOSITORIES": json.dumps(
                {self.name: {"config_uri": str(self.config_uri), "authorized_groups": ["*"]}}),
            "DAF_BUTLER_SERVER_GAFAELFAWR_URL": "DISABLED",
            "DAF_BUTLER_SERVER_AUTHENTICATION": "rubin_science_platform",
        })
        env.pop("PYTHONPATH", None)  # the server needs nothing of ours
        self.log = self.config_uri.parent / f"butler-server-{self.port}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "lsst.daf.butler.remote_butler.server:create_app",
                 "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(self.config_uri.parent))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Butler server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/butler.json", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Butler server did not answer within {timeout} s")

    def stop(self) -> None:
        _terminate(self.proc)
        self.proc = None


@dataclass
class RemoteSample:
    """A running Butler server over a repository, and the file server behind its datastore."""

    repo: Path
    files: FileServer
    butler: ButlerServer

    @property
    def url(self) -> str:
        return self.butler.url

    def stop(self) -> None:
        self.butler.stop()
        self.files.stop()


@contextmanager
def remote_sample(repo: Path, workdir: Path, name: str = REPO_NAME) -> Iterator[RemoteSample]:
    """Serve ``repo``'s files over HTTP and start a Butler server for it; stop both afterwards."""
    files = FileServer(repo).start()
    try:
        config = server_config(repo, files.url, workdir / f"server-{name}")
        butler = ButlerServer(config, name=name).start()
    except BaseException:
        files.stop()
        raise
    sample = RemoteSample(repo, files, butler)
    try:
        yield sample
    finally:
        sample.stop()


def copy_repo(repo: Path, dest: Path) -> Path:
    """A private copy of a repository (for tests that delete a file behind the server's back)."""
    shutil.copytree(repo, dest)
    return dest


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class TokenGate:
    """A real nginx in front of a Butler server that checks bearer tokens, as the Science Platform's
    authenticating ingress does: 401 without a known token, the request passed on (with
    ``X-Auth-Request-User``) with one. ``/butler.yaml`` and ``/butler.json`` are public, as there."""

    upstream_port: int
    tokens: dict  # token -> user name
    workdir: Path
    port: int = 0
    proc: Optional[subprocess.Popen] = None

    def url(self, name: str = REPO_NAME) -> str:
        return f"http://127.0.0.1:{self.port}/api/butler/repo/{name}"

    def start(self, timeout: float = 20.0) -> "TokenGate":
        self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        users = "\n".join(f'        "Bearer {tok}" "{user}";' for tok, user in self.tokens.items())
        conf = f"""
daemon off;
worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {self.workdir}/body;
    proxy_temp_path {self.workdir}/proxy;
    fastcgi_temp_path {self.workdir}/fastcgi;
    uwsgi_temp_path {self.workdir}/uwsgi;
    scgi_temp_path {self.workdir}/scgi;
    map $http_authorization $auth_user {{
        default "";
{users}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location ~ /butler\\.(yaml|json)$ {{
            proxy_pass http://127.0.0.1:{self.upstream_port};
        }}
        location / {{
            if ($auth_user = "") {{ return 401; }}
            proxy_set_header X-Auth-Request-User $auth_user;
            proxy_pass http://127.0.0.1:{self.upstream_port};
        }}
    }}
}}
"""
        path = self.workdir / "nginx.conf"
        path.write_text(conf)
        self.proc = subprocess.Popen([NGINX, "-p", str(self.workdir), "-c", str(path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        _terminate(self.proc)
        self.proc = None
