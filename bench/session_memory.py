#!/usr/bin/env python
"""Memory each session holds, in process: what a served session adds to the server.

    python bench/session_memory.py                 # 4 sessions on the small sample, a table
    python bench/session_memory.py --sessions 6 --top 25 --json

One :class:`~explorer.app.Explorer` is built on a Bokeh ``Document`` of its own (as the server
builds one per browser session) and shown once (warm-up: imports, the shared caches and
registries filled), then ``--sessions`` more; ``tracemalloc`` compares the heap after the first
with the heap after the last, so the difference divided by the count is what one more session
holds. The lines that allocated most of it are listed (``--top``), grouped by file and line.

RSS per session (what the goal means in practice: the server's memory) is measured first, in
the same way but without ``tracemalloc`` (which costs memory of its own per traced block):
the growth of ``VmRSS`` over ``--sessions`` more pages after two warm-up pages, also after
``malloc_trim`` (what the allocator keeps but does not use is given back).
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402  (puts the checkout on sys.path too)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def session(repo: str):
    """One page on a Document of its own, as a served session holds it."""
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from explorer.app import Explorer

    doc = Document()
    with set_curdoc(doc):
        explorer = Explorer(repo, query={"tract": "3828", "patch": "3,3"})
        doc.add_root(explorer.__panel__().get_root(doc))
    pn.state.curdoc = None
    return explorer, doc


def malloc_trim() -> None:
    """Give the allocator's free memory back to the system (glibc; nothing elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure_rss(repo: str, sessions: int) -> dict[str, float]:
    """RSS growth per session (MB), without tracemalloc: as measured and after malloc_trim."""
    kept = [session(repo), session(repo)]  # warm-up: imports, caches, the shared registries
    gc.collect()
    malloc_trim()
    rss0 = rss_mb()
    for _ in range(sessions):
        kept.append(session(repo))
    gc.collect()
    rss1 = rss_mb()
    malloc_trim()
    rss2 = rss_mb()
    return {"rss_mb_per_session": round((rss1 - rss0) / sessions, 2),
            "rss_trimmed_mb_per_session": round((rss2 - rss0) / sessions, 2), "rss_base_mb": round(rss0, 1)}


def measure(repo: str, sessions: int, top: int) -> dict[str, Any]:
    rss = measure_rss(repo, sessions)
    gc.collect()
    kept = [session(repo)]  # warm-up: imports, caches, the shared registries
    gc.collect()
    tracemalloc.start(1)
    first = tracemalloc.take_snapshot()
    for _ in range(sessions):
        kept.append(session(repo))
    gc.collect()
    last = tracemalloc.take_snapshot()
    stats = last.compare_to(first, "lineno")
    total = sum(s.size_diff for s in stats)
    lines = [{"where": f"{s.traceback[0].filename.split('site-packages/')[-1]}:{s.traceback[0].lineno}",
              "kb_per_session": round(s.size_diff / sessions / 1024, 1), "blocks_per_session": s.count_diff // sessions}
             for s in stats[:top]]
    tracemalloc.stop()
    return {"sessions": sessions, "traced_mb_per_session": round(total / sessions / 2**20, 2),
            **rss, "top": lines, "repo": repo,
            "loadavg": benchlib.loadavg(), "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "kept": len(kept)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", help="the repository (default: the small sample, built if absent)")
    ap.add_argument("--sessions", type=int, default=4, help="sessions measured after the first (default 4)")
    ap.add_argument("--top", type=int, default=20, help="allocation sites listed (default 20)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    repo = str(benchlib.small_sample(args.repo))
    res = measure(repo, args.sessions, args.top)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"per session: {res['traced_mb_per_session']} MB traced (Python heap; {res['sessions']} sessions after a "
          f"first), {res['rss_mb_per_session']} MB RSS ({res['rss_trimmed_mb_per_session']} after malloc_trim; "
          f"{res['sessions']} sessions after two, no tracing); load average {res['loadavg']}")
    for line in res["top"]:
        print(f"{line['kb_per_session']:9.1f} KB {line['blocks_per_session']:7d} blocks  {line['where']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
