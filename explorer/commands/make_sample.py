"""``repo-explorer make-sample``: write a DC2-, DP1- or DP2-like sample repository (explorer/sample)."""
from __future__ import annotations

import argparse

from .common import say


def cmd_make_sample(args: argparse.Namespace) -> int:
    """Write a sample repository and print its path (progress on stderr).

    Parameters
    ----------
    args : argparse.Namespace
        ``dir`` (default: sample_repo/ of the checkout, or a sibling named for the layout or
        release), ``layout`` (gen3, gen2), ``size``, ``seed``, ``release`` (dc2, dp1, dp2).

    Returns
    -------
    int
        The exit status, 0.
    """
    import time

    from ..defaults import default_sample_dir
    from ..sample import make_sample

    dest = args.dir or str(default_sample_dir() if args.layout == "gen3"
                           else default_sample_dir().with_name("dc2-gen2"))
    start = time.perf_counter()
    release = getattr(args, "release", "dc2") or "dc2"
    if release != "dc2" and not args.dir:
        dest = str(default_sample_dir().with_name(f"{release}-gen3"))
    path = make_sample(dest, layout=args.layout, size=args.size, seed=args.seed, progress=say, release=release)
    say(f"sample repository ({args.layout}, {args.size}, seed {args.seed}) written to {path} "
        f"in {time.perf_counter() - start:.1f} s")
    print(path)
    return 0
