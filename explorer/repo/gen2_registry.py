"""Read-only access to Gen2 ``registry.sqlite3`` and ``calibRegistry.sqlite3`` files.

The Gen2 registry is a plain SQLite file whose ``raw`` table (columns differ by camera: ``visit,
filter, raftName, detectorName, detector, ...`` for imsim, ``visit, filter, ccd, pointing, ...`` for
HSC, ``visit, filter, raft, sensor, channel, snap`` for the old LsstSim) lists the raw files, and
``raw_visit`` one row per visit. The calib registry has one table per calibration type (``bias``,
``flat``, ...) with ``calibDate``, ``validStart``, ``validEnd`` and the detector keys.

Files are opened with a ``file:...?mode=ro`` URI (plus ``immutable=1`` when the directory is not
writable, so SQLite never even tries a lock file): nothing is ever written next to the data.
One connection per file, shared by threads behind a lock.
"""
from __future__ import annotations

import os
import pathlib
import sqlite3
import threading
from typing import Any, Iterable, Optional, Sequence

from .errors import BadFileError

# Columns that identify a detector, in the order they are reported; "channel"/"snap" are not.
DETECTOR_COLUMNS = ("detector", "ccd", "raftName", "detectorName", "raft", "sensor")
PLACEHOLDER_FILTERS = frozenset({"NONE", "None", "none", "_unknown_", "UNKNOWN", ""})


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


class SqliteRegistry:
    """One Gen2 registry file, opened read-only."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self._lock = threading.RLock()
        self._conn: Optional[sqlite3.Connection] = None
        self._columns: dict[str, list[str]] = {}
        self._tables: Optional[list[str]] = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            uri = pathlib.Path(self.path).as_uri() + "?mode=ro"
            if not os.access(os.path.dirname(self.path), os.W_OK):
                uri += "&immutable=1"
            try:
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
                # TEXT that is not UTF-8 (a corrupt or foreign file) would raise UnicodeDecodeError on fetch
                self._conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
                self._conn.execute("PRAGMA query_only = ON")
            except sqlite3.Error as exc:
                raise BadFileError(f"{self.path}: cannot open the registry ({exc})") from None
            except UnicodeDecodeError:
                raise BadFileError(f"{self.path}: cannot open the registry (corrupt schema text, not UTF-8)") from None
        return self._conn

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            try:
                return list(self._connect().execute(sql, tuple(params)))
            except sqlite3.DatabaseError as exc:
                raise BadFileError(f"{self.path}: unreadable registry ({exc})") from None
            except UnicodeDecodeError:  # sqlite's own error message quoted non-UTF-8 bytes of a broken schema
                raise BadFileError(f"{self.path}: unreadable registry (corrupt schema text, not UTF-8)") from None

    def tables(self) -> list[str]:
        if self._tables is None:
            self._tables = [r[0] for r in self._query("SELECT name FROM sqlite_master WHERE type='table'")]
        return list(self._tables)

    def has_table(self, table: str) -> bool:
        return table in self.tables()

    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            if not self.has_table(table):
                self._columns[table] = []
            else:
                self._columns[table] = [r[1] for r in self._query(f"PRAGMA table_info({_quote(table)})")]
        return list(self._columns[table])

    def count(self, table: str) -> int:
        if not self.has_table(table):
            return 0
        return int(self._query(f"SELECT COUNT(*) FROM {_quote(table)}")[0][0])

    def distinct(self, table: str, columns: Iterable[str], where: Optional[dict[str, Any]] = None) -> list[tuple]:
        """Distinct value tuples of ``columns`` (all must exist), optionally filtered by equality."""
        cols = list(columns)
        known = set(self.columns(table))
        bad = [c for c in cols + list(where or {}) if c not in known]
        if bad:
            raise KeyError(bad[0])
        select = ", ".join(_quote(c) for c in cols) if cols else "1"
        sql = f"SELECT DISTINCT {select} FROM {_quote(table)}"
        params: list[Any] = []
        if where:
            sql += " WHERE " + " AND ".join(f"{_quote(k)} = ?" for k in where)
            params = list(where.values())
        sql += " ORDER BY " + ", ".join(_quote(c) for c in cols) if cols else ""
        return self._query(sql, params)

    def rows(self, table: str, columns: Optional[Sequence[str]] = None) -> list[dict[str, Any]]:
        cols = list(columns) if columns else self.columns(table)
        if not cols:
            return []
        return [dict(zip(cols, r)) for r in self.distinct(table, cols)]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None


class RawRegistry:
    """The questions ``butler.queryMetadata`` answered, from ``registry.sqlite3``."""

    def __init__(self, db: SqliteRegistry):
        self.db = db
        self.table = "raw" if db.has_table("raw") else ("raw_visit" if db.has_table("raw_visit") else None)

    @property
    def columns(self) -> list[str]:
        return self.db.columns(self.table) if self.table else []

    def detector_columns(self) -> list[str]:
        return [c for c in DETECTOR_COLUMNS if c in self.columns]

    def visits(self) -> list[Any]:
        for table in ("raw", "raw_visit"):
            if "visit" in self.db.columns(table):
                return [r[0] for r in self.db.distinct(table, ["visit"])]
        return []

    def filters(self) -> list[str]:
        for table in ("raw", "raw_visit"):
            if "filter" in self.db.columns(table):
                return [str(r[0]) for r in self.db.distinct(table, ["filter"]) if r[0] is not None]
        return []

    def detectors(self) -> list[tuple]:
        """Distinct detector identities (tuples over :meth:`detector_columns`).

        A registry with no detector column (a one-CCD camera such as obs_test's) has one detector
        when it lists any raw at all.
        """
        if not self.table:
            return []
        cols = self.detector_columns()
        if not cols:
            return [()] if self.db.count(self.table) else []
        return self.db.distinct(self.table, cols)

    def visit_table(self) -> list[dict[str, Any]]:
        """One row per visit: visit, filter, exposure time, date (what the registry has of them)."""
        table = "raw_visit" if "visit" in self.db.columns("raw_visit") else self.table
        if not table or "visit" not in self.db.columns(table):
            return []
        wanted = [c for c in ("visit", "filter", "expTime", "dateObs", "taiObs", "date", "field", "pointing")
                  if c in self.db.columns(table)]
        out: dict[Any, dict[str, Any]] = {}
        for row in self.db.rows(table, wanted):
            out.setdefault(row["visit"], row)
        return [out[k] for k in sorted(out, key=lambda v: (str(type(v)), v))]
