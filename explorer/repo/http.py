"""Files behind HTTP URLs (what a Butler server hands out), read by byte range into a local mirror.

A remote dataset is read the way a local one is, by the same FITS and parquet readers, through a
*sparse mirror*: a local file of the remote file's size into which only the byte ranges a view
needs are written (range GETs), the rest being holes that take no disk. The readers memory-map
and seek in it as in any file, and what they decode goes into the shared byte-bounded cache under
the mirror's identity. Mirrors live in a spool directory bounded in bytes (least recently used
mirrors are dropped first), in a sub-directory per *authority* (a hash of the server and the
token that fetched the bytes): one user's bytes never serve another user.

Every request has a connect and a read timeout and a bounded number of retries (server errors,
dropped connections, stalls); failures become one-line :class:`ExplorerError` messages that name
the host and the file but never a URL's query string (presigned URLs carry signatures there), and
tokens are never logged or shown. Fetches that take more than a second report progress.

Why this module is over 400 lines: the HTTP file (:class:`HttpFile`: range GETs with timeouts,
retries and progress) and the sparse mirrors it fills (:class:`Intervals`, :class:`Mirror`,
:class:`Spool`) are one mechanism, tuned as one through this module's globals (``CHUNK``,
``PROGRESS_AFTER``, the shared spool) by the remote tests and bench/remote.py; the Butler side is
:mod:`.remote`, tokens are :mod:`.auth`.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from bisect import bisect_left
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from .errors import ExplorerError, NotOnDiskError

Progress = Optional[Callable[[str], None]]

ENV_TIMEOUT = "REPO_EXPLORER_HTTP_TIMEOUT"  # seconds a server may stay silent (default 20)
ENV_RETRIES = "REPO_EXPLORER_HTTP_RETRIES"  # extra attempts after a transient failure (default 2)
ENV_SPOOL = "REPO_EXPLORER_REMOTE_SPOOL"  # where mirrors live (default: the temp dir)
ENV_SPOOL_BYTES = "REPO_EXPLORER_REMOTE_SPOOL_BYTES"  # bound on the mirrors' bytes (default 4 GiB)
DEFAULT_TIMEOUT = 20.0
CONNECT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
DEFAULT_SPOOL_BYTES = 4 * 1024**3
PROGRESS_AFTER = 1.0  # seconds before a fetch starts reporting progress
CHUNK = 64 * 1024  # read size of a streamed answer (and so how often a slow fetch can report)
FIRST_READ = 64 * 1024  # a file's first request: the primary header and the next one in one round trip
MIRROR_MTIME_NS = 1_000_000_000_000_000_000  # fixed: a mirror's identity must not change as it fills


class RemoteError(ExplorerError):
    """A remote server or file could not be used (down, refused, timed out, failed)."""


class AccessDeniedError(RemoteError):
    """The server refused the request: 401 (no or a bad token) or 403 (not allowed, expired URL)."""


class ServerUnavailableError(RemoteError):
    """The server cannot be reached, timed out, or answered with a server error."""


def display_url(url: str) -> str:
    """A URL fit for messages and logs: no query string or fragment (signatures live there), no
    user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _timeout() -> float:
    try:
        return max(0.1, float(os.environ.get(ENV_TIMEOUT, "") or DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT


def _retries() -> int:
    try:
        return max(0, int(os.environ.get(ENV_RETRIES, "") or DEFAULT_RETRIES))
    except ValueError:
        return DEFAULT_RETRIES


_listening = threading.local()


@contextmanager
def reporting_to(callback: Callable[[str], None]) -> Iterator[None]:
    """Within this block, in this thread, every fetch that takes more than :data:`PROGRESS_AFTER`
    also reports its progress to ``callback`` (a page's session hears of its own fetches only)."""
    previous = getattr(_listening, "callback", None)
    _listening.callback = callback
    try:
        yield
    finally:
        _listening.callback = previous


def _listeners(own: Progress) -> list[Callable[[str], None]]:
    return [f for f in (own, getattr(_listening, "callback", None)) if f is not None]


_session_lock = threading.Lock()
_session = None


def http_session():
    """One pooled ``requests`` session for every file fetch of the process (no cookies kept)."""
    global _session
    with _session_lock:
        if _session is None:
            import requests
            from requests.adapters import HTTPAdapter

            s = requests.Session()
            s.cookies.set_policy(_NoCookies())
            adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
            s.mount("http://", adapter)
            s.mount("https://", adapter)
            s.trust_env = False  # no .netrc credentials or proxies picked up behind our back
            _session = s
        return _session


class _NoCookies:
    """A cookie policy that keeps nothing: one user's cookies must not ride on another's request."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = False

    def set_ok(self, cookie, request):
        return False

    def return_ok(self, cookie, request):
        return False

    def domain_return_ok(self, domain, request):
        return False

    def path_return_ok(self, path, request):
        return False


class HttpFile:
    """One file behind an HTTP(S) URL, read by byte range with timeouts and bounded retries.

    ``headers``: extra request headers the Butler server says the file needs (``{}`` for a
    presigned URL; never logged). ``name``: how messages name the file (default: its URL without
    the query string).
    """

    def __init__(self, url: str, headers: Optional[Mapping[str, str]] = None, name: Optional[str] = None,
                 progress: Progress = None, timeout: Optional[float] = None, retries: Optional[int] = None):
        self.url = url
        self.headers = dict(headers or {})
        self.name = name or display_url(url)
        self.progress = progress
        self.timeout = _timeout() if timeout is None else float(timeout)
        self.retries = _retries() if retries is None else int(retries)
        self.bytes_fetched = 0
        self.requests = 0

    # ----- the requests ------------------------------------------------------------------------
    def _fail(self, status: int, what: str) -> ExplorerError:
        host = urlsplit(self.url).netloc.rsplit("@", 1)[-1]
        if status == 404:
            return NotOnDiskError(f"{self.name}: registered but its file is not on disk "
                                  f"(the file server at {host} answered HTTP 404)")
        if status in (401, 403):
            return AccessDeniedError(f"{self.name}: access denied by the file server at {host} "
                                     f"(HTTP {status} {what}); the token or the signed URL may have expired")
        if status == 416:
            return RemoteError(f"{self.name}: the file server refused the byte range (HTTP 416): file changed?")
        return ServerUnavailableError(f"{self.name}: the file server at {host} failed (HTTP {status} {what})")

    def _request(self, method: str, start: Optional[int] = None, end: Optional[int] = None,
                 sink: Optional[Callable[[bytes], None]] = None) -> tuple[int, Mapping[str, str]]:
        """One request with retries; the body (if any) goes to ``sink`` in chunks. Returns the
        status and headers of the successful answer."""
        import requests

        headers = dict(self.headers)
        if start is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        host = urlsplit(self.url).netloc.rsplit("@", 1)[-1]
        last: Optional[ExplorerError] = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(2.0, 0.2 * 2 ** (attempt - 1)))
            self.requests += 1
            got = 0
            try:
                with http_session().request(method, self.url, headers=headers, stream=True, allow_redirects=True,
                                            timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout)) as resp:
                    if resp.status_code >= 500 or resp.status_code == 429:
                        last = self._fail(resp.status_code, resp.reason or "")
                        continue
                    if resp.status_code >= 400:
                        raise self._fail(resp.status_code, resp.reason or "")
                    if sink is not None:
                        began = time.monotonic()
                        total = _content_length(resp.headers)
                        told = 0.0
                        chunks: list[bytes] = []
                        for chunk in resp.iter_content(CHUNK):
                            chunks.append(chunk)
                            got += len(chunk)
                            now = time.monotonic()
                            if now - began > PROGRESS_AFTER and now - told > 0.5:
                                told = now
                                of = f" of {total / 1e6:.1f}" if total else ""
                                for say in _listeners(self.progress):
                                    say(f"fetching {os.path.basename(urlsplit(self.url).path)}: "
                                        f"{got / 1e6:.1f}{of} MB from {host}")
                        self.bytes_fetched += got
                        if total is not None and got != total:
                            last = ServerUnavailableError(
                                f"{self.name}: the connection to {host} dropped after {got} of {total} bytes")
                            continue
                        sink(b"".join(chunks))
                    return resp.status_code, resp.headers
            except ExplorerError:
                raise
            except requests.exceptions.ConnectTimeout:
                last = ServerUnavailableError(f"{self.name}: the file server at {host} did not accept a connection "
                                              f"within {min(CONNECT_TIMEOUT, self.timeout):g} s")
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
                text = str(exc)
                if isinstance(exc, requests.exceptions.ReadTimeout) or "timed out" in text.lower():
                    last = ServerUnavailableError(f"{self.name}: the file server at {host} stalled "
                                                  f"(no answer within {self.timeout:g} s)")
                elif "refused" in text.lower():
                    last = ServerUnavailableError(f"{self.name}: cannot reach the file server at {host} "
                                                  f"(connection refused)")
                else:
                    last = ServerUnavailableError(f"{self.name}: the connection to the file server at {host} failed")
            except requests.exceptions.RequestException as exc:
                raise RemoteError(f"{self.name}: HTTP request failed ({type(exc).__name__})") from None
        assert last is not None
        tries = self.retries + 1
        raise type(last)(f"{last} (after {tries} attempt{'s' if tries != 1 else ''})")

    def exists(self) -> bool:
        """Whether the server has the file (404: no). Other refusals raise: a 403 is not "absent"."""
        try:
            self._request("GET", 0, 1, sink=lambda _b: None)
        except NotOnDiskError:
            return False
        return True

    def read_range(self, start: int, end: int) -> tuple[bytes, int, int, Optional[int]]:
        """Bytes ``[start, end)``. Returns (data, data_start, data_end, file_size); a server that
        ignores ranges sends the whole file (data_start 0), which the caller keeps."""
        out: list[bytes] = []
        status, headers = self._request("GET", start, end, sink=out.append)
        data = out[0] if out else b""
        if status == 206:
            first, size = _content_range(headers.get("Content-Range", ""))
            first = start if first is None else first
            return data, first, first + len(data), size
        return data, 0, len(data), len(data)  # 200: the whole file


def _content_length(headers: Mapping[str, str]) -> Optional[int]:
    try:
        return int(headers.get("Content-Length", ""))
    except ValueError:
        return None


def _content_range(value: str) -> tuple[Optional[int], Optional[int]]:
    """``bytes 0-99/1234`` -> (0, 1234); unknown parts None."""
    try:
        _unit, rest = value.split(" ", 1)
        span, total = rest.split("/", 1)
        first = int(span.split("-", 1)[0]) if span != "*" else None
        return first, (int(total) if total != "*" else None)
    except ValueError:
        return None, None


# ----- the sparse mirrors --------------------------------------------------------------------------
class Intervals:
    """A set of disjoint half-open byte intervals, merged on insert."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        if end <= start:
            return
        i = bisect_left(self.ends, start)
        j = i
        while j < len(self.starts) and self.starts[j] <= end:
            start, end = min(start, self.starts[j]), max(end, self.ends[j])
            j += 1
        self.starts[i:j] = [start]
        self.ends[i:j] = [end]

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """Sub-intervals of ``[start, end)`` not yet held."""
        out, pos = [], start
        i = bisect_left(self.ends, start + 1)
        while pos < end and i < len(self.starts):
            s, e = self.starts[i], self.ends[i]
            if s >= end:
                break
            if s > pos:
                out.append((pos, s))
            pos = max(pos, e)
            i += 1
        if pos < end:
            out.append((pos, end))
        return out

    @property
    def total(self) -> int:
        return sum(e - s for s, e in zip(self.starts, self.ends))


class Mirror:
    """A local sparse copy of one remote file holding the byte ranges fetched so far.

    ``path`` is a real local file of the remote file's full size, so the local readers work on it;
    its mtime is fixed, so its cache identity does not change as more ranges arrive.
    """

    def __init__(self, spool: "Spool", path: str, source: HttpFile):
        self.spool = spool
        self.path = path
        self.source = source
        self.size: Optional[int] = None
        self.held = Intervals()
        self.lock = threading.RLock()
        self.last_used = time.monotonic()
        self.structure: Optional[tuple] = None  # what a reader learnt of the file's layout (remote.py)

    def _write(self, data: bytes, start: int, size: Optional[int]) -> None:
        if size is not None and self.size is not None and size != self.size:
            # the remote file changed size: what we hold belongs to another version
            self.held = Intervals()
            self.size = None
            self.structure = None
        if self.size is None:
            self.size = size if size is not None else start + len(data)
            with open(self.path, "wb") as fh:
                fh.truncate(self.size)
        with open(self.path, "r+b") as fh:
            fh.seek(start)
            fh.write(data)
        os.utime(self.path, ns=(MIRROR_MTIME_NS, MIRROR_MTIME_NS))
        self.held.add(start, start + len(data))
        self.spool.note_bytes(self, len(data))

    def file_size(self) -> int:
        """The remote file's size (fetching its first :data:`FIRST_READ` bytes if nothing has been
        read yet: every reader wants them, and one round trip costs more than the few extra bytes)."""
        with self.lock:
            if self.size is None:
                self.ensure(0, FIRST_READ)
            assert self.size is not None
            return self.size

    def ensure(self, start: int, end: int, progress: Progress = None) -> None:
        """Make bytes ``[start, end)`` (clipped to the file) present in the mirror."""
        with self.lock:
            self.last_used = time.monotonic()
            if self.size is not None:
                end = min(end, self.size)
                gaps = self.held.missing(start, end) if start < end else []
            else:
                gaps = [(start, end)]
            if progress is not None:
                self.source.progress = progress
            for gap_start, gap_end in gaps:
                data, first, _end, size = self.source.read_range(gap_start, gap_end)
                self._write(data, first, size)
            if not os.path.exists(self.path):  # dropped from the spool while we held it: refill
                self.held = Intervals()
                self.size = None
                self.structure = None
                self.ensure(start, end)

    def ensure_all(self, progress: Progress = None) -> None:
        self.ensure(0, self.file_size(), progress)

    @property
    def bytes_held(self) -> int:
        return self.held.total


class Spool:
    """The directory of mirrors, bounded in bytes held (least recently used mirrors dropped first)."""

    def __init__(self, root: Optional[str] = None, max_bytes: Optional[int] = None):
        if root is None:
            root = os.environ.get(ENV_SPOOL) or os.path.join(tempfile.gettempdir(),
                                                             f"repo-explorer-remote-{os.getuid()}")
        if max_bytes is None:
            try:
                max_bytes = int(float(os.environ.get(ENV_SPOOL_BYTES, "") or DEFAULT_SPOOL_BYTES))
            except ValueError:
                max_bytes = DEFAULT_SPOOL_BYTES
        self.root = root
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._mirrors: dict[tuple[str, str], Mirror] = {}
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        self._forget_dead_processes()
        # one folder per process: the processes of a multi-process server never touch each other's files
        self.pid = os.getpid()
        self.folder = os.path.join(self.root, f"pid-{self.pid}")
        os.makedirs(self.folder, mode=0o700, exist_ok=True)

    def _forget_dead_processes(self) -> None:
        """Remove the mirrors of processes that are gone (their holes are unknown to anyone)."""
        import shutil

        try:
            names = os.listdir(self.root)
        except OSError:
            return
        for name in names:
            if not name.startswith("pid-") or not name[4:].isdigit():
                continue
            pid = int(name[4:])
            try:
                os.kill(pid, 0)
                continue  # alive (or not ours to signal): leave it
            except ProcessLookupError:
                pass
            except OSError:
                continue
            shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)

    def mirror(self, authority: str, url: str, headers: Optional[Mapping[str, str]] = None,
               name: Optional[str] = None, suffix: str = "") -> Mirror:
        """The mirror of ``url`` for one authority (see :func:`explorer.repo.cache.authority_key`).
        The file is named by a hash of the URL without its query (a presigned URL's signature
        changes on every request; the file it names does not)."""
        ident = display_url(url)
        key = (authority, ident)
        with self._lock:
            m = self._mirrors.get(key)
            if m is None:
                folder = os.path.join(self.folder, authority)
                os.makedirs(folder, mode=0o700, exist_ok=True)
                digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
                path = os.path.join(folder, digest + suffix)
                if os.path.exists(path):  # dropped from our table earlier: its holes are unknown
                    os.unlink(path)
                m = self._mirrors[key] = Mirror(self, path, HttpFile(url, headers, name=name))
            else:
                m.source.url = url  # a fresh signature for the same file
                m.source.headers = dict(headers or {})
            return m

    def note_bytes(self, fresh: Mirror, _nbytes: int) -> None:
        with self._lock:
            mirrors = sorted(self._mirrors.items(), key=lambda kv: kv[1].last_used)
            total = sum(m.bytes_held for _, m in mirrors)
            for key, m in mirrors:
                if total <= self.max_bytes:
                    break
                if m is fresh:
                    continue
                total -= m.bytes_held
                try:
                    os.unlink(m.path)
                except OSError:
                    pass
                del self._mirrors[key]

    @property
    def bytes_held(self) -> int:
        with self._lock:
            return sum(m.bytes_held for m in self._mirrors.values())

    def bytes_fetched(self) -> int:
        with self._lock:
            return sum(m.source.bytes_fetched for m in self._mirrors.values())


_spool: Optional[Spool] = None
_spool_lock = threading.Lock()


def shared_spool() -> Spool:
    """The process-wide spool (``REPO_EXPLORER_REMOTE_SPOOL``, ``REPO_EXPLORER_REMOTE_SPOOL_BYTES``)."""
    global _spool
    with _spool_lock:
        if _spool is None or _spool.pid != os.getpid():  # a forked child gets its own
            _spool = Spool()
        return _spool
