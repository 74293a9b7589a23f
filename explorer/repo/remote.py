"""Gen3 repositories behind a Butler server: ``http(s)://HOST/api/butler/repo/NAME`` or a label
of the repository index (``DAF_BUTLER_REPOSITORY_INDEX``), read with a bearer token.

:class:`RemoteGen3Repository` is a :class:`~explorer.repo.gen3.Gen3Repository` whose Butler is a
``RemoteButler`` and whose files are HTTP URLs the server hands out: registry queries are the
same; files are read through sparse local mirrors (:mod:`explorer.repo.http`) that fetch only
the byte ranges a view needs: every FITS header and the small archive tables for an exposure's
description, one plane's data segment when that plane is shown, the footer of a parquet file for
its row count and schema. Whole files are fetched only for catalogs that are read whole anyway
and for gzipped FITS (no random access).

The token never leaves this object except in the ``Authorization`` header the Butler client
sends to the Butler server (and to a file server only when the Butler server says a file needs
it); it is not logged, not shown, not put in a URL, and bytes fetched with it live under its own
:func:`~explorer.repo.cache.authority_key`, so a session with another token (or none) never
reads them.

Why this module is over 400 lines: it is one backend, :class:`RemoteGen3Repository` (the
methods of the Gen3 backend that differ behind a server: the Butler opened with a token, a file's
URL, reading through mirrors), with the byte-range planning only it needs (which bytes of a FITS
or parquet file a description or one plane takes: :func:`walk_fits`, :func:`parquet_column_spans`).
The HTTP client and the mirrors are in :mod:`.http`, tokens in :mod:`.auth`.
"""
from __future__ import annotations

import dataclasses
import os
import re
import struct
import threading
import time
from typing import Any, Optional, Sequence
from urllib.parse import urlsplit

import pandas as pd

from .cache import authority_key, file_key
from .errors import ExplorerError, NotARepositoryError, NotOnDiskError
from .gen3 import Gen3Repository
from .http import (
    AccessDeniedError,
    Mirror,
    Progress,
    RemoteError,
    ServerUnavailableError,
    _timeout,
    display_url,
    shared_spool,
)
from .model import ColumnInfo, DatasetLocation, Exposure

TOKEN_ENV = "BUTLER_RUBIN_ACCESS_TOKEN"
INDEX_ENV = "DAF_BUTLER_REPOSITORY_INDEX"
URI_TTL_S = 600.0  # how long a (possibly presigned) file URL is reused before asking the server again
EXISTS_TTL_S = 30.0  # how long "the file is there" is believed before asking the file server again
BLOCK = 2880
TAIL_BYTES = 4 * 1024**2  # after the pixel planes, a rest of the file this small is fetched in one go
MAX_HDUS = 512
PARQUET_TAIL = 64 * 1024  # a parquet file's last bytes fetched at once: its footer, as a rule
RANGE_GAP = 64 * 1024  # column chunks closer than this are fetched in one request (fewer round trips)
CHECK_WORKERS = 8  # --check-files: files whose existence is asked at once
_SERVER_PATH = re.compile(r"/api/butler/repo/[^/]+/?$")


def is_url(target: str) -> bool:
    return isinstance(target, str) and target.strip().lower().startswith(("http://", "https://"))


def known_labels() -> set[str]:
    """Labels of the repository index (empty when ``DAF_BUTLER_REPOSITORY_INDEX`` is unset or unreadable)."""
    if not os.environ.get(INDEX_ENV):
        return set()
    try:
        from lsst.daf.butler import Butler

        return set(Butler.get_known_repos())
    except Exception:
        return set()


def resolve_label(label: str) -> Optional[str]:
    """The URI (URL or local path) a repository-index label stands for, or None for no such label."""
    if not isinstance(label, str) or not label or "/" in label or label not in known_labels():
        return None
    from lsst.daf.butler import Butler

    try:
        uri = Butler.get_repo_uri(label)
    except Exception:
        return None
    if uri.scheme in ("file", ""):
        path = uri.ospath
        return os.path.dirname(path) if os.path.isfile(path) else path
    return str(uri)


def is_remote_target(target: Any) -> bool:
    """True for a Butler server URL or a repository-index label that names one (or any label:
    labels are not paths)."""
    if not isinstance(target, str):
        return False
    if is_url(target):
        return True
    return not os.path.exists(target) and resolve_label(target) is not None


def server_url(url: str) -> str:
    """A Butler server repository URL, normalised (no trailing slash, no ``butler.yaml``)."""
    url = url.strip()
    for tail in ("/butler.yaml", "/butler.json"):
        url = url.removesuffix(tail)
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise NotARepositoryError("refused: credentials in a repository URL; give the token through "
                                  f"{TOKEN_ENV} or the login instead")
    if parts.query or parts.fragment:
        raise NotARepositoryError(f"not a Butler server URL: {display_url(url)} has a query string "
                                  "(expected http(s)://HOST/api/butler/repo/NAME)")
    return url.rstrip("/")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def butler_error(exc: BaseException, url: str) -> ExplorerError:
    """One-line message for a failure talking to the Butler server (never showing the token)."""
    host = urlsplit(url).netloc
    status = getattr(exc, "status_code", None)
    cause = exc.__cause__ or exc.__context__
    chain = f"{type(exc).__name__} {type(cause).__name__ if cause else ''} {_first_line(exc)}".lower()
    if status in (401, 403):
        return AccessDeniedError(f"the Butler server at {host} refused the token (HTTP {status}): "
                                 f"check {TOKEN_ENV} or log in again")
    if status == 404:
        return NotARepositoryError(f"no repository at {display_url(url)} (the Butler server answered HTTP 404)")
    if status is not None and status >= 500:
        return ServerUnavailableError(f"the Butler server at {host} failed (HTTP {status})")
    if "connect" in chain or "refused" in chain:
        return ServerUnavailableError(f"the Butler server at {host} is down or unreachable (connection refused)")
    if "timeout" in chain or "timed out" in chain:
        return ServerUnavailableError(f"the Butler server at {host} did not answer in time")
    if status is not None:
        return RemoteError(f"the Butler server at {host} answered HTTP {status}")
    return RemoteError(f"cannot use the Butler server at {host}: {_first_line(exc)}")


class RemoteGen3Repository(Gen3Repository):
    """A Gen3 repository behind a Butler server, read with one token.

    Parameters
    ----------
    url
        ``http(s)://HOST/api/butler/repo/NAME``.
    token
        The bearer token for every request (default ``$BUTLER_RUBIN_ACCESS_TOKEN``); required.
    label
        How to name the repository in messages and the inventory (default: the URL).
    progress
        Called with one-line messages while a file fetch takes more than a second.
    """

    kind = "gen3"
    remote = True

    def __init__(self, url: str, token: Optional[str] = None, label: Optional[str] = None,
                 progress: Progress = None):
        self.url = server_url(url)
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        if not token or not token.strip():
            raise AccessDeniedError(f"no access token for {self.url}: set {TOKEN_ENV} to your token "
                                    "(the Butler client refuses to start without one)")
        self.__token = token.strip()
        self.authority = authority_key(self.url, self.__token)
        self.progress = progress
        self._signed: dict[str, tuple[str, dict[str, str], float]] = {}
        self._found: dict[tuple, Any] = {}  # complete data ID -> the ref the server found for it
        self._exists_memo: dict[str, tuple[bool, float]] = {}
        self._remote_lock = threading.Lock()
        self._reading = threading.local()  # set while locating a file in order to read it
        super().__init__(self.url)
        self.root = label or self.url

    def __repr__(self) -> str:  # never the token
        return f"RemoteGen3Repository({self.root!r})"

    def __getstate__(self):
        raise TypeError("a remote repository holds a token and cannot be pickled")

    # ----- the Butler --------------------------------------------------------------------------
    def _open_butler(self):
        import httpx2
        from lsst.daf.butler.remote_butler._factory import RemoteButlerFactory

        client = httpx2.Client(timeout=httpx2.Timeout(_timeout(), connect=min(5.0, _timeout())))
        try:
            factory = RemoteButlerFactory.create_factory_for_url(self.url, http_client=client)
            butler = factory.create_butler_for_access_token(self.__token)
            _ = butler.dimensions  # the first authenticated request: a bad token or a dead server shows here
        except ExplorerError:
            raise
        except Exception as exc:
            raise butler_error(exc, self.url) from None
        return butler

    # ----- finding a dataset's file -----------------------------------------------------------
    def locate(self, dataset_type: str, data_id: dict[str, Any],
               collections: Optional[str] = None) -> DatasetLocation:
        """As the local repository's, in one round trip to the Butler server for a complete data ID
        (see :meth:`_find_by_data_id`); the general way (a query for refs, then ``get_file``) for
        anything else, and for what it already knows."""
        found = self._find_by_data_id(dataset_type, data_id, collections)
        if found is None:
            return super().locate(dataset_type, data_id, collections)
        shown = self._uri_path(found)
        return DatasetLocation(dataset_type, dict(found.dataId.mapping), shown, self._file_exists(shown),
                               storage_class=found.datasetType.storageClass_name, collection=found.run)

    def _find_by_data_id(self, dataset_type: str, data_id: dict[str, Any], collections: Optional[str]):
        """The ref of a complete data ID and its file's signed URL from the server's
        ``get_file_by_data_id``: one request, where ``queryDatasets`` then ``get_file`` take three
        (the dataset type's lookup, the query, the URL). The server searches the same collections in
        the same order and takes the first match, as :meth:`locate` does with several. None, to go
        the general way, for a partial data ID, refs the general way already holds, or any answer
        other than one file (not found, ambiguous, no artifact): its messages are the local ones."""
        clean = self._check_data_id(dataset_type, data_id)
        required = self._dataset_type(dataset_type).dimensions.required
        if any(name not in clean for name in required):
            return None
        key = (dataset_type, collections, tuple(sorted((k, str(v)) for k, v in clean.items())))
        with self._lock:
            if key in self._refs_memo:
                return None
            hit = self._found.get(key)
        if hit is not None:
            return hit
        ask = getattr(self.butler, "_get_file_info", None)  # RemoteButler's own call for getURI
        if ask is None:
            return None
        leaves = self._leaf_collections(collections)
        try:
            response = ask(dataset_type, clean, leaves, None, {})
        except Exception as exc:
            error = butler_error(exc, self.url)
            if isinstance(error, (ServerUnavailableError, AccessDeniedError)):
                raise error from None  # down, failing, refusing: asking again the general way would not help
            return None  # not found, a bad data ID...: the general way says it as locally
        artifact = response.artifact
        if artifact is None or len(artifact.file_info) != 1:
            return None
        from lsst.daf.butler import DatasetRef
        from lsst.daf.butler.remote_butler._get import convert_http_url_to_resource_path

        ref = DatasetRef.from_simple(response.dataset_ref, universe=self.butler.dimensions)
        info = artifact.file_info[0]
        uri = convert_http_url_to_resource_path(info.url, self.butler._connection.auth, info.auth)
        with self._lock:
            self._remember_uri(ref, uri)
            if len(self._found) >= 4096:
                self._found.clear()
            self._found[key] = ref
        return ref

    # ----- files -------------------------------------------------------------------------------
    def _remember_uri(self, ref, uri) -> str:
        url = str(uri)
        headers = dict(getattr(uri, "_extra_headers", None) or {})
        shown = display_url(url)
        self._signed[shown] = (url, headers, time.monotonic())
        self._uri_memo[ref.id] = shown
        return shown

    def _uri_path(self, ref) -> Optional[str]:
        """The file's URL without its query (what messages show); the signed URL is kept aside."""
        now = time.monotonic()
        with self._lock:
            hit = self._uri_memo.get(ref.id)
            if hit is not None and hit in self._signed and now - self._signed[hit][2] < URI_TTL_S:
                return hit
        try:  # outside the lock: --check-files asks for many URLs at once (the client is thread-safe)
            uri = self.butler.getURI(ref)
        except ExplorerError:
            raise
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if status is not None or "connect" in type(exc.__cause__).__name__.lower():
                raise butler_error(exc, self.url) from None
            return None
        with self._lock:
            return self._remember_uri(ref, uri)

    def _missing_ids(self, name: str, collections: Optional[str], total: int, say) -> list[dict[str, Any]]:
        """Data IDs of a type's registered datasets whose file is absent: each file's URL from the
        Butler server and a one-byte probe of the file server, :data:`CHECK_WORKERS` files at a time
        (a request per file one after another would take a round trip per file), refs streamed
        from the server in batches of :data:`~explorer.repo.gen3.CHECK_BATCH`."""
        from concurrent.futures import ThreadPoolExecutor

        from .base import progress_bar
        from .gen3 import CHECK_BATCH

        leaves = self._leaf_collections(collections)
        dedupe = len(leaves) > 1 and not self._runs_only(tuple(leaves))
        missing: list[dict[str, Any]] = []
        seen: set = set()
        batch: list = []
        done = 0

        def absent(ref) -> bool:
            return not self._file_exists(self._uri_path(ref))

        with ThreadPoolExecutor(CHECK_WORKERS, thread_name_prefix="check-files") as pool:
            def check() -> None:
                nonlocal done
                for ref, gone in zip(batch, pool.map(absent, batch)):
                    if gone:
                        missing.append(dict(ref.dataId.mapping))
                done += len(batch)
                batch.clear()

            with self.butler.query() as q:
                for ref in q.datasets(name, collections=leaves, find_first=False):
                    if ref.id in seen:
                        continue
                    if dedupe:
                        seen.add(ref.id)
                    batch.append(ref)
                    if len(batch) >= CHECK_BATCH:
                        check()
                        say(f"checking {name} files: {done}/{total} ({progress_bar(done, total)})")
                if batch:
                    check()
        if total > CHECK_BATCH:
            say(f"checking {name} files: {done}/{total} ({progress_bar(done, total)})")
        return missing

    def _file_exists(self, path: Optional[str]) -> bool:
        if not path:
            return False
        now = time.monotonic()
        with self._remote_lock:
            hit = self._exists_memo.get(path)
        if hit is not None and hit[0] and now - hit[1] < EXISTS_TTL_S:
            return True
        mirror = self._mirror(path)
        if getattr(self._reading, "active", False):
            # about to read the file: its first blocks (which the read needs first) answer
            # "is it there?" too, in the same request
            try:
                mirror.file_size()
                ok = True
            except NotOnDiskError:
                ok = False
        else:
            ok = mirror.source.exists()  # one byte: --check-files asks this of every file
        with self._remote_lock:
            self._exists_memo[path] = (ok, now)
        return ok

    def _mirror(self, shown: str) -> Mirror:
        url, headers, _ = self._signed.get(shown, (shown, {}, 0.0))
        return shared_spool().mirror(self.authority, url, headers, name=shown)

    def _located(self, dataset_type: str, data_id: dict[str, Any], collections: Optional[str]) -> tuple[str, Mirror]:
        self._reading.active = True
        try:
            shown = self._existing_path(dataset_type, data_id, collections)
        finally:
            self._reading.active = False
        return shown, self._mirror(shown)

    # ----- reading -----------------------------------------------------------------------------
    def get_exposure(self, dataset_type: str, data_id: dict[str, Any],
                     collections: Optional[str] = None) -> Exposure:
        from . import access

        shown, mirror = self._located(dataset_type, data_id, collections)
        layout = fetch_fits_structure(mirror, self.progress)
        info = dataclasses.replace(access.exposure_info(mirror.path), path=shown)

        def spans_of(plane: str) -> list[HduSpan]:
            index = info.plane_hdus.get(plane)
            if layout is None or index is None:
                return []
            if plane == "image" and "amplifiers" in info.visit_info:
                return [h for h in layout if h.is_image]  # amplifier segments are assembled from all
            return [layout[index]] if index < len(layout) else []

        def need(plane: str) -> None:
            for span in spans_of(plane):
                mirror.ensure(span.data_start, span.data_end, self.progress)

        def missing_bytes(plane: str) -> int:
            """Bytes of the plane not fetched yet (0: reading it makes no request); never waits:
            while another thread fetches into this file, its bytes count as missing."""
            if not mirror.lock.acquire(blocking=False):
                return sum(h.data_end - h.data_start for h in spans_of(plane)) or 1
            try:
                if not os.path.exists(mirror.path):
                    return sum(h.data_end - h.data_start for h in spans_of(plane)) or 1
                return sum(e - s for h in spans_of(plane) for s, e in mirror.held.missing(h.data_start, h.data_end))
            finally:
                mirror.lock.release()

        def load_plane(name: str):
            need(name)
            return access.read_plane(mirror.path, name)

        def load_binned(name: str, factor: int):
            need(name)
            return access.read_binned_plane(mirror.path, name, factor)

        exposure = Exposure(info, load_plane, dataset_type=dataset_type, data_id=data_id, load_binned=load_binned)
        # what derived values (stretch limits...) are cached under: the mirror, which names the
        # authority the bytes were fetched with; info.path is the URL people see
        exposure.identity = file_key(mirror.path)
        # a page fetches what is missing in the background and shows how far it got (state.py)
        exposure.missing_bytes = missing_bytes
        exposure.fetch = need
        return exposure

    def get_catalog(self, dataset_type: str, data_id: dict[str, Any], columns: Optional[Sequence[str]] = None,
                    collections: Optional[str] = None) -> pd.DataFrame:
        from . import access

        _, mirror = self._located(dataset_type, data_id, collections)
        fetch_catalog_columns(mirror, columns, self.progress)
        return access.read_catalog(mirror.path, columns=columns)

    def catalog_schema(self, dataset_type: str, data_id: dict[str, Any],
                       collections: Optional[str] = None) -> list[ColumnInfo]:
        from . import access

        _, mirror = self._located(dataset_type, data_id, collections)
        fetch_catalog_header(mirror, self.progress)
        return access.catalog_schema(mirror.path)

    def _count_sources(self, paths_by_type: dict[str, list], say, notes: list[str]) -> Optional[int]:
        from .base import SOURCE_COUNT_LIMIT, count_source_rows

        local: dict[str, list] = {}
        for name, shown_paths in paths_by_type.items():
            if len(shown_paths) > SOURCE_COUNT_LIMIT:
                local[name] = list(shown_paths)  # count_source_rows says why it will not count them
                continue
            out = []
            for shown in shown_paths:
                try:
                    mirror = self._mirror(shown) if shown else None
                    if mirror is not None:
                        fetch_catalog_header(mirror, self.progress)
                    out.append(mirror.path if mirror is not None else None)
                except NotOnDiskError:
                    out.append(None)
                except ExplorerError:
                    out.append(None)
            local[name] = out
        return count_source_rows(local, say, notes)


# ----- what of a file to fetch ----------------------------------------------------------------------
@dataclasses.dataclass
class HduSpan:
    header_start: int
    data_start: int
    data_end: int  # padded to the FITS block
    is_image: bool  # a pixel plane (image HDU with >= 2 axes, or a tile-compressed image)


def _card_int(cards: dict[str, str], key: str, default: int = 0) -> int:
    try:
        return int(cards.get(key, default))
    except ValueError:
        return default


def _parse_header(raw: bytes) -> Optional[tuple[dict[str, str], int]]:
    """The cards of a FITS header and its length in bytes (padded), or None when END is not in ``raw``."""
    cards: dict[str, str] = {}
    for i in range(0, len(raw) - 79, 80):
        card = raw[i:i + 80].decode("ascii", "replace")
        key = card[:8].strip()
        if key == "END":
            return cards, -(-(i + 80) // BLOCK) * BLOCK
        if card[8:10] == "= " and key not in cards:
            value = card[10:].split("/", 1)[0].strip() if not card[10:].lstrip().startswith("'") else \
                card[10:].strip().split("'")[1]
            cards[key] = value.strip()
    return None


def _read_local(mirror: Mirror, start: int, end: int) -> bytes:
    with open(mirror.path, "rb") as fh:
        fh.seek(start)
        return fh.read(end - start)


def walk_fits(mirror: Mirror, fetch_tables: bool, progress: Progress = None) -> Optional[list[HduSpan]]:
    """Fetch every HDU header of a FITS file (and, with ``fetch_tables``, the data of every HDU that
    is not a pixel plane: the afw archive tables); the pixel planes' data stays remote. Returns the
    HDU layout, or None for a file that is not plain FITS (gzip: fetched whole)."""
    size = mirror.file_size()
    head = _read_local(mirror, 0, 8)
    if not head.startswith(b"SIMPLE"):
        mirror.ensure_all(progress)  # gzip (or not FITS at all: the reader will say so)
        return None
    spans: list[HduSpan] = []
    pos = 0
    while pos < size and len(spans) < MAX_HDUS:
        planes = [h.data_end - h.data_start for h in spans if h.is_image and h.data_end > h.data_start]
        if fetch_tables and planes and size - pos <= min(TAIL_BYTES, min(planes) - 1):
            # what is left is smaller than any plane seen: past the planes, among the archive
            # tables, whose headers and data are all read; the rest at once, in one round trip
            mirror.ensure(pos, size, progress)
        want = 4 * BLOCK
        while True:
            mirror.ensure(pos, pos + want, progress)
            parsed = _parse_header(_read_local(mirror, pos, min(size, pos + want)))
            if parsed is not None or pos + want >= size:
                break
            want *= 4
        if parsed is None:
            break  # a broken header: the reader reports it from what is there
        cards, hlen = parsed
        naxis = _card_int(cards, "NAXIS")
        count = 1
        for i in range(1, naxis + 1):
            count *= _card_int(cards, f"NAXIS{i}")
        if naxis == 0:
            count = 0
        bits = abs(_card_int(cards, "BITPIX", 8))
        nbytes = bits // 8 * _card_int(cards, "GCOUNT", 1) * (_card_int(cards, "PCOUNT", 0) + count)
        data_start = pos + hlen
        data_end = data_start + -(-nbytes // BLOCK) * BLOCK
        xtension = cards.get("XTENSION", "").upper()
        is_image = (naxis >= 2 and xtension in ("", "IMAGE")) or cards.get("ZIMAGE", "").upper() == "T"
        spans.append(HduSpan(pos, data_start, data_end, is_image))
        if fetch_tables and not is_image and nbytes:
            mirror.ensure(data_start, data_end + 4 * BLOCK, progress)  # and the next header: one trip
        pos = data_end
    return spans


def fetch_fits_structure(mirror: Mirror, progress: Progress = None) -> Optional[list[HduSpan]]:
    """What an exposure's description reads: all headers and the archive tables, no pixels."""
    with mirror.lock:
        known = mirror.structure
        if known is not None and known[0] is not None and os.path.exists(mirror.path):
            return known[0]  # walked before, and the mirror still holds what the walk fetched
        spans = walk_fits(mirror, fetch_tables=True, progress=progress)
        mirror.structure = (spans,)
        return spans


def fetch_catalog_header(mirror: Mirror, progress: Progress = None) -> None:
    """What a catalog's schema and row count read: FITS headers, or a parquet file's footer."""
    with mirror.lock:
        if mirror.structure is not None and os.path.exists(mirror.path):
            return  # fetched before (an exposure's walk fetches more than a catalog's needs)
        _fetch_catalog_header(mirror, progress)
        mirror.structure = (None,)


def _fetch_catalog_header(mirror: Mirror, progress: Progress) -> None:
    """FITS headers (no data), or the parquet footer (whole file if it is not where it should be)."""
    size = mirror.file_size()
    head = _read_local(mirror, 0, 4)
    if head == b"PAR1" and size >= 12:
        mirror.ensure(max(0, size - PARQUET_TAIL), size, progress)  # the footer, most often whole, at once
        tail = _read_local(mirror, size - 8, size)
        if tail[4:] == b"PAR1":
            (footer,) = struct.unpack("<i", tail[:4])
            mirror.ensure(max(0, size - 8 - footer), size, progress)
            return
        mirror.ensure_all(progress)
        return
    walk_fits(mirror, fetch_tables=False, progress=progress)


def fetch_catalog_columns(mirror: Mirror, columns: Optional[Sequence[str]], progress: Progress = None) -> None:
    """What reading ``columns`` of a catalog reads: of a parquet file, its footer and, in every row
    group, the chunks of those columns (the reader, pyarrow on the mirror, touches nothing else);
    any other catalog (afw FITS tables, read whole by the reader) or all columns: the whole file."""
    fetch_catalog_header(mirror, progress)
    with mirror.lock:
        spans = None
        if columns is not None and _read_local(mirror, 0, 4) == b"PAR1":
            spans = parquet_column_spans(mirror.path, [columns] if isinstance(columns, str) else columns)
        if spans is None:
            mirror.ensure_all(progress)
            return
        for start, end in spans:
            mirror.ensure(start, end, progress)


def parquet_column_spans(path: str, columns: Sequence[str]) -> Optional[list[tuple[int, int]]]:
    """Byte ranges of the named columns' chunks in every row group of a parquet file, from its
    footer (which ``path`` must hold), merged when less than :data:`RANGE_GAP` apart; None when the
    footer cannot be read or names none of the columns (the caller then fetches the file)."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        meta = parquet.metadata
        names = set(parquet.schema_arrow.names)
    except Exception:
        return None
    wanted = set(columns)
    if not wanted <= names:
        return []  # the reader refuses an unknown column from the footer alone: fetch nothing
    found: set[str] = set()
    spans: list[tuple[int, int]] = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for i in range(group.num_columns):
            chunk = group.column(i)
            name = chunk.path_in_schema
            top = name if name in wanted else name.split(".", 1)[0]
            if top not in wanted:
                continue
            found.add(top)
            start = chunk.data_page_offset
            if chunk.has_dictionary_page and chunk.dictionary_page_offset:
                start = min(start, chunk.dictionary_page_offset)
            spans.append((start, start + chunk.total_compressed_size))
    if found != wanted and meta.num_row_groups:
        return None  # a column whose chunks are named otherwise (nested): the whole file
    if not spans:
        return []
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start - merged[-1][1] < RANGE_GAP:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
