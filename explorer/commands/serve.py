"""``repo-explorer serve``: start the app (explorer/server.py) on a repository or the sample."""
from __future__ import annotations

import argparse
import os

from ..errors import ExplorerError
from .common import is_remote


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the app at ``/explorer`` until interrupted (see explorer/server.py).

    Parameters
    ----------
    args : argparse.Namespace
        ``repo`` (default: the sample, built if absent), ``port``, ``address``, ``repo_root``,
        ``allow_registry_host``, ``num_procs``, ``allow_websocket_origin``, ``basic_auth``,
        ``show``, ``dask_scheduler``.

    Returns
    -------
    int
        The exit status, 0.
    """
    from ..server import serve

    if args.repo and not os.path.exists(args.repo) and not is_remote(args.repo):
        raise ExplorerError(f"no such repository: {args.repo}")
    serve(args.repo, port=args.port, repo_roots=args.repo_root or [], address=args.address,
          num_procs=args.num_procs, allow_websocket_origin=args.allow_websocket_origin or [],
          basic_auth=args.basic_auth, show=args.show, allow_registry_hosts=args.allow_registry_host or [],
          dask_scheduler=args.dask_scheduler)
    return 0
