#!/usr/bin/env python
"""Server CPU per interaction, in process: what one click costs the server, without a browser,
a websocket or other sessions' queue in the figure.

    python bench/inprocess.py                   # the small sample (built if absent), a text table
    python bench/inprocess.py --repeat 9 --json # the figures as JSON
    python bench/inprocess.py --only band,patch --profile /tmp/band.prof   # cProfile those actions
    python bench/run.py --only server_cpu_per_interaction_ms             # the slowest action, with goal

An :class:`~explorer.app.Explorer` is put on a Bokeh ``Document`` (its page's root models, as a
served session holds them) with ``pn.state.curdoc`` set to it. Each action changes the state as
its widget would (band, patch, visit, detector, plane, stretch, histogram column, catalog),
alternating between two values, inside a held document (as Panel holds it while it processes a
browser's change); the document events the action caused are then serialized as the PATCH-DOC
message the server writes to the websocket. The figure is the process CPU time
(``time.process_time``) of the change plus that serialization, median of ``--repeat`` runs after
``--warmup`` runs (the caches warm: what a person switching back and forth costs), and the
message's size (KB).

Differences from a served session: with no session, the image panel redraws at each change
rather than once per batch (on the next tick), which can only cost more; Bokeh's own websocket
write and the browser are not included.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402  (puts the checkout on sys.path too)

ACTIONS = ("band", "patch", "visit", "detector", "plane", "stretch", "column", "catalog", "tract", "kind")


def log(message: str) -> None:
    print(f"[inprocess {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def page_on_document(repo: str, query: dict[str, str]):
    """An Explorer on ``repo`` with ``query`` applied, its page's roots added to a new Document."""
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from explorer.app import Explorer

    doc = Document()
    with set_curdoc(doc):
        explorer = Explorer(repo, query=query)
        root = explorer.__panel__().get_root(doc)
        doc.add_root(root)
    pn.state.curdoc = None
    return explorer, doc


def patch_bytes(events: list) -> int:
    """Bytes of the PATCH-DOC message of ``events`` (header, metadata, content and binary buffers)."""
    from bokeh.protocol import Protocol

    if not events:
        return 0
    msg = Protocol().create("PATCH-DOC", events)
    buffers = sum(len(memoryview(b.data).cast("B")) for b in msg.buffers)
    return len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json) + buffers


def interact(doc, change: Callable[[], None]) -> tuple[float, int]:
    """(CPU seconds, patch bytes) of one change: run inside a held document, as Panel holds it
    while it processes a browser's change, then the held events serialized as the server would."""
    from panel.io.state import set_curdoc

    start = time.process_time()
    with set_curdoc(doc):
        doc.hold("combine")
        try:
            change()
            events = list(doc.callbacks._held_events)
            size = patch_bytes(events)
        finally:
            doc.callbacks._held_events = []  # (no session to send them to)
            doc.unhold()
    return time.process_time() - start, size


def actions(explorer) -> dict[str, Callable[[], None]]:
    """For each action, a change that alternates the state between two values (as its widget sets it)."""
    st = explorer.state
    out: dict[str, Callable[[], None]] = {}

    def toggler(name: str, values: list, before: Callable[[], None] | None = None):
        values = [v for v in values if v is not None][:2]
        if len(values) < 2:
            return None
        turn = {"i": 0}

        def change() -> None:
            if before is not None:
                before()
            turn["i"] += 1
            setattr(st, name, values[turn["i"] % 2])
        return change

    def objects(name: str) -> list:
        objs = st.param[name].objects
        return list(objs.values()) if isinstance(objs, dict) else list(objs or [])

    def coadd() -> None:
        if st.image_kind != "coadd":
            st.param.update(image_kind="coadd", tract=3828, patch="3,3")

    def calexp() -> None:
        if st.image_kind != "calexp":
            st.image_kind = "calexp"

    coadd()
    out["band"] = toggler("band", objects("band")[:2], coadd)
    out["patch"] = toggler("patch", ["3,3", "4,3"], coadd)
    out["plane"] = toggler("plane", ["image", "variance"], coadd)
    out["stretch"] = toggler("stretch", ["asinh", "linear"], coadd)
    columns = [c for c in objects("column") if c]
    out["column"] = toggler("column", [st.column] + [c for c in columns if c != st.column][:1], coadd)
    out["catalog"] = toggler("catalog", [st.catalog] + [c for c in objects("catalog") if c != st.catalog][:1], coadd)
    calexp()
    out["visit"] = toggler("visit", [st.visit] + [v for v in objects("visit") if v != st.visit][:1], calexp)
    out["detector"] = toggler("detector", [st.detector] + [d for d in objects("detector") if d != st.detector][:1],
                              calexp)
    coadd()
    tracts = [t for t in objects("tract") if t != st.tract][:1]
    out["tract"] = toggler("tract", [st.tract] + tracts, coadd)
    out["kind"] = toggler("image_kind", ["coadd", "calexp"])
    return {k: v for k, v in out.items() if v is not None}


def measure(repo: str, only: list[str], repeat: int, warmup: int, profile: str | None,
            other_sessions: int = 0) -> dict[str, Any]:
    import holoviews as hv  # noqa: F401
    import panel as pn  # noqa: F401

    log(f"building the page on {repo}")
    t0, c0 = time.perf_counter(), time.process_time()
    explorer, doc = page_on_document(repo, {"tract": "3828", "patch": "3,3"})
    build = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - c0, 2)}
    # pages of other sessions in the same process, idle, as a server holds them: what one
    # session's click costs must not grow with them
    others = [page_on_document(repo, {"tract": "3828", "patch": "3,3"}) for _ in range(other_sessions)]
    if others:
        log(f"{len(others)} other session page(s) built beside it")
    changes = actions(explorer)
    results: dict[str, Any] = {}
    # CPU time, as the figures: a wall-clock profile on a loaded machine charges the queue for the
    # cores to whichever C call was running (WebP's encoder looked 4 times slower than it is)
    profiler = cProfile.Profile(time.process_time) if profile else None
    for name in only:
        change = changes.get(name)
        if change is None:
            log(f"{name}: not available on this repository")
            continue
        # set up the action's kind (coadd or calexp) outside the measure, then warm up
        interact(doc, change)
        for _ in range(warmup):
            interact(doc, change)
        cpu, sizes = [], []
        for _ in range(repeat):
            if profiler is not None:
                profiler.enable()
            seconds, size = interact(doc, change)
            if profiler is not None:
                profiler.disable()
            cpu.append(seconds * 1000)
            sizes.append(size)
        results[name] = {"cpu_ms_median": round(statistics.median(cpu), 1), "cpu_ms_min": round(min(cpu), 1),
                         "cpu_ms_max": round(max(cpu), 1), "patch_kb_median": round(statistics.median(sizes) / 1024, 1)}
        log(f"{name}: {results[name]['cpu_ms_median']} ms CPU, {results[name]['patch_kb_median']} KB")
    if profiler is not None:
        profiler.dump_stats(profile)
        log(f"profile written to {profile}")
    return {"actions": results, "page_build": build, "repeat": repeat, "warmup": warmup, "repo": repo,
            "other_sessions": len(others),
            "loadavg": benchlib.loadavg(), "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def figures(sample: Path | None, repeat: int, log_to=log) -> dict[str, Any]:
    """For bench/run.py: ``server_cpu_per_interaction_ms`` (the slowest action's median) and the
    per-action figures in ``details``."""
    global log
    log = log_to
    sample = benchlib.small_sample(sample, log)
    res = measure(str(sample), list(ACTIONS), repeat, 2, None)
    worst = max((r["cpu_ms_median"] for r in res["actions"].values()), default=None)
    return {"server_cpu_per_interaction_ms": worst, "details": {"server_cpu_per_interaction": res}}


def table(res: dict[str, Any]) -> str:
    rows = [f"{'action':10s} {'CPU ms (median)':>16s} {'min-max':>14s} {'patch KB':>9s}"]
    for name, r in res["actions"].items():
        rows.append(f"{name:10s} {r['cpu_ms_median']:16.1f} {r['cpu_ms_min']:6.1f}-{r['cpu_ms_max']:<7.1f}"
                    f" {r['patch_kb_median']:9.1f}")
    rows.append(f"(median of {res['repeat']} after {res['warmup']} warm-up runs; load average {res['loadavg']}; "
                f"page built in {res['page_build']['cpu_s']} s CPU; {res['other_sessions']} other sessions)")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", help="the repository (default: the small sample, built if absent)")
    ap.add_argument("--only", help=f"actions to measure, comma separated ({','.join(ACTIONS)})")
    ap.add_argument("--repeat", type=int, default=7, help="measured runs per action (default 7)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured runs per action first (default 2)")
    ap.add_argument("--profile", metavar="FILE", help="write a cProfile of the measured runs to FILE")
    ap.add_argument("--other-sessions", type=int, default=0, metavar="N",
                    help="build N more pages in the process first (idle sessions beside the measured one)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    only = [a.strip() for a in args.only.split(",")] if args.only else list(ACTIONS)
    unknown = set(only) - set(ACTIONS)
    if unknown:
        ap.error(f"unknown action(s) {', '.join(sorted(unknown))}; actions are {', '.join(ACTIONS)}")
    repo = str(benchlib.small_sample(args.repo, log))
    res = measure(repo, only, args.repeat, args.warmup, args.profile, args.other_sessions)
    print(json.dumps(res, indent=1) if args.json else table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
