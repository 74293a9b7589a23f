#!/usr/bin/env python
"""Server CPU to open one session, in process: what each new browser tab costs the server.

    python bench/session_open.py                     # 4 sessions after a warm-up, small sample
    python bench/session_open.py --sessions 6 --json
    python bench/session_open.py --profile /tmp/open.txt   # pyinstrument's tree of the sessions
    python bench/session_open.py --kind-switches 6  # also: CPU of switching calexp <-> coadd

A session is what ``repo-explorer serve`` builds for a browser tab (:func:`explorer.app.page.create_app`
without the address bar): an :class:`~explorer.app.Explorer` from a link's query, its template
put on a Bokeh ``Document`` of its own (``server_doc``: every panel's models and the HoloViews
plots of the open panels). One session is built first (imports, the shared caches and indexes
filled), then ``--sessions`` more; each is timed with ``time.process_time`` in two parts: the
page's state and panels (``explorer_ms``) and its Bokeh models (``models_ms``). The figures are
CPU times, so they hold on a busy machine better than wall-clock ones; the load average is printed.

``--kind-switches N`` then switches the last page's image kind (calexp <-> coadd) N times after one
warm-up round, each measured as bench/inprocess.py measures an interaction (CPU of the change in a
held document plus its PATCH-DOC serialised): a switch that rebuilds the image plot costs its new
Bokeh models there.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402  (puts the checkout on sys.path too)


def open_session(repo: str, query: dict[str, str]) -> tuple[float, float, Any]:
    """(CPU s of the Explorer, CPU s of its Bokeh models, the document) for one new session."""
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from explorer.app import Explorer

    doc = Document()
    with set_curdoc(doc):
        t0 = time.process_time()
        explorer = Explorer(repo, query=dict(query))
        t1 = time.process_time()
        explorer.template().server_doc(doc)
        t2 = time.process_time()
    pn.state.curdoc = None
    return t1 - t0, t2 - t1, (explorer, doc)


def kind_switches(explorer: Any, doc: Any, count: int) -> dict[str, Any]:
    """CPU (ms) and PATCH-DOC size (KB) of switching the image kind, median of ``count``."""
    from inprocess import interact

    st = explorer.state
    kinds = [k for k in ("calexp", "coadd") if k in list(st.param.image_kind.objects)]
    if len(kinds) < 2:
        return {}
    turn = {"i": 0}

    def change() -> None:
        turn["i"] += 1
        st.image_kind = kinds[turn["i"] % 2]

    for _ in range(2):  # warm-up: both kinds' files read, their frames rendered once
        interact(doc, change)
    runs = [interact(doc, change) for _ in range(count)]
    cpu = sorted(1000 * seconds for seconds, _size in runs)
    return {"kind_switch_cpu_ms_median": round(statistics.median(cpu), 1), "kind_switch_cpu_ms_max": round(cpu[-1], 1),
            "kind_switch_patch_kb_median": round(statistics.median(size for _s, size in runs) / 1024, 1)}


def measure(repo: str, sessions: int, query: dict[str, str], profile: str | None = None,
            switches: int = 0) -> dict[str, Any]:
    first = open_session(repo, query)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.002)
        profiler.start()
    parts, kept = [], [first[2]]
    for _ in range(sessions):
        explorer_s, models_s, held = open_session(repo, query)
        parts.append((explorer_s, models_s))
        kept.append(held)
    if profiler is not None:
        profiler.stop()
        Path(profile).write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    totals = [a + b for a, b in parts]
    switched = kind_switches(*kept[-1], switches) if switches else {}
    return {**switched, "sessions": sessions, "query": query, "repo": repo,
            "open_ms_median": round(1000 * statistics.median(totals), 1),
            "open_ms_min": round(1000 * min(totals), 1),
            "explorer_ms_median": round(1000 * statistics.median(a for a, _ in parts), 1),
            "models_ms_median": round(1000 * statistics.median(b for _, b in parts), 1),
            "first_ms": round(1000 * (first[0] + first[1]), 1),
            "loadavg": benchlib.loadavg(), "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", help="the repository (default: the small sample, built if absent)")
    ap.add_argument("--sessions", type=int, default=4, help="sessions timed after the first (default 4)")
    ap.add_argument("--query", default="tract=3828&patch=3,3",
                    help="the link's query string (default: a coadd patch of the sample)")
    ap.add_argument("--profile", metavar="FILE", help="write pyinstrument's profile of the timed sessions")
    ap.add_argument("--kind-switches", type=int, default=0, metavar="N",
                    help="then measure N switches of the image kind (calexp <-> coadd) on the last page")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    repo = str(benchlib.small_sample(args.repo))
    from urllib.parse import parse_qsl

    query = dict(parse_qsl(args.query))
    query.setdefault("repo", repo)
    res = measure(repo, args.sessions, query, args.profile, args.kind_switches)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"session open: {res['open_ms_median']} ms CPU median (min {res['open_ms_min']}; state and panels "
          f"{res['explorer_ms_median']}, Bokeh models {res['models_ms_median']}; first {res['first_ms']}) over "
          f"{res['sessions']} sessions; load average {res['loadavg']}")
    if "kind_switch_cpu_ms_median" in res:
        print(f"image kind switch: {res['kind_switch_cpu_ms_median']} ms CPU median "
              f"(max {res['kind_switch_cpu_ms_max']}), {res['kind_switch_patch_kb_median']} KB patch, "
              f"over {args.kind_switches} switches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
