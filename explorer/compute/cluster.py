"""The Dask side of catalog work: which cluster to use, and cancellable jobs that report progress.

* :func:`dask_client` yields a ``distributed.Client``: to an existing scheduler
  (``--dask-scheduler tcp://HOST:PORT``) or to a new ``LocalCluster`` of worker *processes* bound to
  127.0.0.1 with no dashboard (so the catalog lives in the workers, never in the server process);
  a scheduler that cannot be reached is a one-line :class:`ClusterError`.
* :class:`PartitionJob` runs one delayed task per partition, can say how far it is
  (``done``/``total``), and can be cancelled from another thread (when the selection changes);
  :meth:`PartitionJob.result` then raises :class:`JobCancelled`.
* The workers run the explorer's own kernels (:mod:`explorer.compute.kernels`): as Dask requires,
  the workers of an existing cluster need the same software environment as the client.
"""
from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence

from ..errors import ExplorerError

__all__ = ["ClusterError", "JobCancelled", "dask_client", "PartitionJob", "check_address"]

_ADDRESS_RE = re.compile(r"^(tcp|tls|ucx|inproc)://[^\s/]+(:\d+)?(/.*)?$")


class ClusterError(ExplorerError):
    """The Dask scheduler cannot be reached or the cluster cannot start."""


class JobCancelled(ExplorerError):
    """The work was cancelled (the selection changed) before it finished."""


def check_address(address: str) -> str:
    """A scheduler address as Dask writes it (``tcp://HOST:PORT``); a bare ``HOST:PORT`` gets tcp://."""
    address = str(address).strip()
    if "://" not in address:
        address = "tcp://" + address
    if not _ADDRESS_RE.match(address):
        raise ClusterError(f"bad Dask scheduler address {address!r}: expected tcp://HOST:PORT")
    return address


@contextmanager
def dask_client(scheduler: Optional[str] = None, n_workers: int = 2, threads_per_worker: int = 1,
                memory_limit: str = "2GiB", timeout: float = 10.0) -> Iterator[Any]:
    """A client to ``scheduler`` (an address) or to a new local cluster, closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler:
        address = check_address(scheduler)
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address} "
                               f"({' '.join(str(exc).split())[:120]})") from None
        try:
            yield client
        finally:
            client.close()
        return
    try:
        cluster = LocalCluster(n_workers=int(n_workers), threads_per_worker=int(threads_per_worker),
                               processes=True, host="127.0.0.1", dashboard_address=None,
                               # no dashboard, and the scheduler's small HTTP server (health,
                               # metrics) on a free port of 127.0.0.1, not on 8787
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                               memory_limit=memory_limit, silence_logs=logging.ERROR)
    except Exception as exc:
        raise ClusterError(f"cannot start a local Dask cluster ({' '.join(str(exc).split())[:120]})") from None
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


class PartitionJob:
    """Delayed tasks (one per partition) computed on a client, with progress and cancellation."""

    def __init__(self, client, tasks: Sequence[Any], label: str = "work", futures: Optional[list] = None,
                 own: bool = True, weights: Optional[Sequence[int]] = None):
        self.client = client
        self.label = label
        self.own = own  # False: futures shared with other work (kept columns), never cancelled by this job
        self.futures = futures if futures is not None else (client.compute(list(tasks)) if tasks else [])
        # partitions each future covers (one task per worker covers several): progress counts those
        self.weights = [int(w) for w in weights] if weights is not None else [1] * len(self.futures)
        self._cancel = threading.Event()

    @classmethod
    def of_futures(cls, client, futures: list, label: str = "work", own: bool = True,
                   weights: Optional[Sequence[int]] = None) -> "PartitionJob":
        """A job over futures already submitted (e.g. ``client.map`` over persisted partitions);
        ``own=False`` for futures other work shares (cancelling then only stops the waiting);
        ``weights``: how many partitions each future covers (progress is in partitions)."""
        return cls(client, (), label, futures=list(futures), own=own, weights=weights)

    @property
    def total(self) -> int:
        return sum(self.weights)

    @property
    def done(self) -> int:
        return sum(w for f, w in zip(self.futures, self.weights) if f.done())

    def cancel(self) -> None:
        """Stop the work (safe from any thread); :meth:`result` raises :class:`JobCancelled`."""
        self._cancel.set()
        if self.futures and self.own:
            self.client.cancel(self.futures)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def result(self, progress: Optional[Callable[[int, int], None]] = None, poll: float = 0.05) -> list:
        """Every partition's result, in order; ``progress(done, total)`` is called as they finish."""
        self.wait(progress, poll)
        return self.client.gather(self.futures)

    def wait(self, progress: Optional[Callable[[int, int], None]] = None, poll: float = 0.05) -> None:
        """Wait until every partition is done, leaving the results on the workers.

        For work whose results stay there (a column kept for the next histogram): gathering them
        would bring the catalog into the server's memory.
        """
        finished = threading.Event()  # (back as soon as a future finishes, not on the next poll)
        for f in self.futures:
            f.add_done_callback(lambda _f: finished.set())
        last = -1
        while not self._cancel.is_set():
            now = self.done
            if progress is not None and now != last:
                progress(now, self.total)
                last = now
            if now == self.total:
                break
            finished.wait(poll)  # (or after ``poll``, to look at the cancel flag)
            finished.clear()
        if self._cancel.is_set():
            raise JobCancelled(f"{self.label} cancelled after {self.done} of {self.total} partitions")
        failed = next((f for f in self.futures if f.status == "error"), None)
        if failed is not None:
            failed.result()  # raises the partition's exception, as gathering would
