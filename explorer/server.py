"""Serve the explorer at ``/explorer`` (``repo-explorer serve`` calls :func:`serve`).

One process (or ``num_procs`` forked processes) serves every session; repositories and the data
cache are shared between the sessions of a process. Before the first session the numba kernels
are compiled and datashader imported (:func:`explorer.app.warm_up`), so nobody waits for a JIT;
once serving, each process builds and discards one page of the repository
(:func:`explorer.app.warmup.warm_page`), so the first visitor does not wait for the first page.
The C allocator is told to keep less of what the processes free (:mod:`explorer.allocator`).
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import sys
from typing import Optional, Sequence, Union

from .errors import ExplorerError

log = logging.getLogger(__name__)

APP_PATH = "explorer"


class ServeError(ExplorerError):
    """The server cannot start as asked (bad option values)."""


def is_loopback(address: str) -> bool:
    """True when ``address`` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    text = (address or "").strip().strip("[]").lower()
    if text == "localhost" or text.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a public interface


def exposure_warning(address: str, repo_roots: Sequence[str], basic_auth: Optional[str] = None) -> Optional[str]:
    """The warning ``serve`` prints when it listens beyond this machine without confinement (or None).

    Without ``--repo-root`` anyone who reaches the page can type (or put in ``?repo=``) any path the
    server's user can read; without ``--basic-auth`` (or OAuth) anyone who reaches the port can.
    """
    if is_loopback(address):
        return None
    problems = []
    if not repo_roots:
        problems.append("every path readable by the server's user is exposed (the repository box and "
                        "?repo= accept any directory)")
    if not basic_auth:
        problems.append("no login is required")
    if not problems:
        return None
    return (f"repo-explorer: WARNING: serving on {address}, reachable from other machines, and "
            + "; ".join(problems) + ". Use --repo-root DIR to confine repositories and --basic-auth "
            "(or OAuth, see docs/security.md) to require a login.")


def _die_with_parent() -> None:
    """Ask Linux to send this (forked) process SIGTERM when its parent exits."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _warm_page(repo: str, roots: Sequence[str]) -> None:
    """Build and discard one page of ``repo`` (:func:`explorer.app.warmup.warm_page`): the first
    visitor then waits as long as later ones. Never fails the server: a page that cannot be built
    will say why to its visitors."""
    from .app.warmup import warm_page

    try:
        seconds = warm_page(repo, roots)
    except Exception:  # noqa: BLE001 - a warm-up only
        log.debug("the warm-up page failed", exc_info=True)
    else:
        log.debug("warm-up page built in %.1f s", seconds)


def _fork_reuse_port_processes(num_procs: int, port: int, address: str) -> int:
    """Fork into ``num_procs`` processes that each listen on ``port`` with SO_REUSEPORT; returns the port.

    Bokeh's own ``num_procs`` forks processes that share one listening socket, and one process
    then accepts a whole burst of connections (its accept loop drains the queue): with 20 people
    connecting at once, one core did 94 % of the work (bench/load.py). With a socket per process
    and SO_REUSEPORT, the kernel spreads connections over the processes. Registry connections are
    dropped before the fork (an SQLite connection must not cross one); each process reopens its own.
    """
    import signal

    import bokeh.server.server as bokeh_server
    from tornado import netutil

    from . import app

    reserve = netutil.bind_sockets(port or 0, address=address, reuse_port=True)
    port = reserve[0].getsockname()[1]
    app.forget_repositories()
    children: list[int] = []
    for _ in range(num_procs - 1):
        pid = os.fork()
        if pid == 0:  # a worker: its own socket, gone with the parent
            children = []
            _die_with_parent()
            break
        children.append(pid)

    def bind_reuse_port(addr, p):
        socks = netutil.bind_sockets(port=p or port, address=addr, reuse_port=True)
        return socks, socks[0].getsockname()[1]

    bokeh_server.bind_sockets = bind_reuse_port
    for sock in reserve:  # not listening on it: connections must reach the servers' own sockets
        sock.close()
    if children:
        def stop(signum, _frame):
            for pid in children:
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    return port


def basic_auth_config(value: Optional[str]) -> Union[None, str, dict[str, str]]:
    """What Panel's basic-auth provider takes, from the ``--basic-auth`` value.

    * an existing file: a JSON object ``{"user": "password", ...}`` (checked here);
    * ``USER:PASSWORD``: that one account;
    * anything else: a shared password, any user name.
    """
    if not value:
        return None
    if os.path.isfile(value):
        try:
            with open(value, encoding="utf-8") as fh:
                users = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ServeError(f"--basic-auth file {value} is not a JSON object of user: password ({exc})") from None
        if not isinstance(users, dict) or not users or not all(isinstance(v, str) for v in users.values()):
            raise ServeError(f"--basic-auth file {value} must hold a JSON object of user: password strings")
        return value
    if ":" in value:
        user, password = value.split(":", 1)
        if not user or not password:
            raise ServeError("--basic-auth USER:PASSWORD needs both a user and a password")
        return {user: password}
    return value


def serve(repo: Optional[str] = None, port: int = 5006, repo_roots: Sequence[str] = (),
          address: str = "127.0.0.1", num_procs: int = 1, allow_websocket_origin: Sequence[str] = (),
          basic_auth: Optional[str] = None, show: bool = False,
          allow_registry_hosts: Sequence[str] = (), dask_scheduler: Optional[str] = None) -> None:
    """Serve the explorer at ``http://ADDRESS:PORT/explorer`` until interrupted.

    ``repo``: the repository each new session opens (default: ``$REPO_EXPLORER_REPO`` or the
    sample, built first if absent); ``repo_roots``: confine the repository-path box (and
    ``?repo=``) to these directories; ``allow_websocket_origin``: extra ``host[:port]`` allowed
    to connect (needed behind a proxy); ``basic_auth``: see :func:`basic_auth_config`;
    ``allow_registry_hosts``: database/storage servers a confined repository may use (by default
    a confined repository's registry and datastore must be files inside the roots);
    ``dask_scheduler``: the Dask scheduler (``tcp://HOST:PORT``) the catalog tools compute HATS
    catalogs on (default: a LocalCluster on 127.0.0.1, started on first use).
    """
    import panel as pn

    from . import app
    from .allocator import tune_for_serving
    from .paths import check_roots

    tune_for_serving()  # before any fork and any thread: freed memory leaves the process sooner

    roots = check_roots(list(repo_roots)) if repo_roots else []
    from .repo.confine import allow_hosts

    allow_hosts(allow_registry_hosts)  # process-wide, before any fork
    if dask_scheduler:
        from .compute.cluster import check_address
        from .app.tools.hats_source import ENV_SCHEDULER

        os.environ[ENV_SCHEDULER] = check_address(dask_scheduler)
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ServeError(f"bad port {port!r}: use 0..65535")
    if num_procs < 0:
        raise ServeError(f"bad --num-procs {num_procs}: use 1 or more (0: one per CPU)")
    if repo is None:
        repo = os.environ.get(app.ENV_REPO) or None
    if repo is None:
        from .defaults import ensure_sample

        repo = str(ensure_sample(progress=lambda m: print(m, file=sys.stderr, flush=True)))
    from .repo.remote import is_remote_target

    remote = repo is not None and is_remote_target(repo)
    if not is_loopback(address):  # hosted: each session brings its own token (explorer/repo/auth.py)
        os.environ.setdefault("REPO_EXPLORER_PER_USER_TOKENS", "1")
    if not remote:
        if not os.path.isdir(repo):
            raise ServeError(f"no such repository: {repo}")
        repo = os.path.realpath(repo)
    auth = basic_auth_config(basic_auth)
    warning = exposure_warning(address, roots, basic_auth)
    if warning:  # said before the slow start, so an operator sees it at once
        print(warning, file=sys.stderr, flush=True)

    from .repo.auth import session_token

    local_token = session_token(None) if remote else None  # never in per-user mode
    try:  # open the repository before the first visitor (a Butler takes about a second)
        if not remote:
            app.get_repository(repo)
        elif local_token:  # a remote one opens per token: here, the one of the environment
            app.get_repository(repo, token=local_token)
    except ExplorerError as exc:
        raise ServeError(str(exc)) from None
    if num_procs == 0:
        num_procs = os.cpu_count() or 1
    if num_procs > 1:
        port = _fork_reuse_port_processes(num_procs, port, address)
        if not remote:
            app.get_repository(repo)  # each process opens its own registry connection
        elif local_token:
            app.get_repository(repo, token=local_token)
        num_procs = 1
    # after any fork, never before: the kernels that use every core (datashader's downsampling,
    # binning, long histograms) may run on GNU OpenMP, which kills a forked child that runs
    # parallel code after its parent did
    app.warm_up()
    # not with --show: the browser opened now would wait for it, then build its own page; nor for a
    # remote repository without a token of the server's own (it opens per visitor, with theirs)
    if not show and (not remote or local_token):
        from tornado.ioloop import IOLoop

        IOLoop.current().add_callback(_warm_page, repo, roots)  # once serving: the port answers meanwhile

    origins = list(allow_websocket_origin or [])
    host = "localhost" if address in ("127.0.0.1", "localhost", "0.0.0.0", "::") else address
    if port:
        origins += [f"{host}:{port}", f"127.0.0.1:{port}", f"localhost:{port}"]
    kwargs = {}
    if auth is not None:
        kwargs["basic_auth"] = auth
        kwargs["cookie_secret"] = os.environ.get("PANEL_COOKIE_SECRET") or secrets.token_hex(32)

    def session():
        return app.create_app(repo=repo, repo_roots=roots)

    print(f"repo-explorer: serving {repo} at http://{host}:{port}/{APP_PATH}"
          + (f" (repositories confined to {', '.join(roots)})" if roots else ""), file=sys.stderr, flush=True)
    pn.serve({APP_PATH: session}, port=port, address=address, websocket_origin=sorted(set(origins)) or None,
             show=show, num_procs=num_procs, title="Repository explorer", verbose=False,
             start=True, **kwargs)
