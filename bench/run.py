#!/usr/bin/env python
"""Benchmark the explorer against the notebook's way and against its goals (see BENCHMARKS.md).

    python bench/run.py                       # every figure on bench/out/large (built if absent), a table
    python bench/run.py --json                # the figures as one JSON object on stdout
    python bench/run.py --quick --json        # fewer repeats: under 5 minutes on 2 cores (sample built)
    python bench/run.py --only image_switch_ms,histogram_10m_ms
    python bench/run.py --repo PATH           # measure another (large) sample repository
    python bench/run.py --from-json bench/out/results.json --write-benchmarks   # refresh BENCHMARKS.md
    python bench/run.py --growth survey-25k,survey-250k,survey   # cost against registry size (growth.py)
    python bench/run.py --only tools --quick  # the image tools' figures (tool_*: bench/fig_tools.py);
                                              # they need only the small sample (--sample), not the large one
    python bench/run.py --only server_cpu_per_interaction_ms --sample PATH   # server CPU per click, in
                                              # process (bench/inprocess.py), on the small sample

Progress goes to stderr; stdout holds only the JSON (``--json``), the Markdown table
(``--markdown``) or a short text table. No figure is asserted: the goals are reported, met or not.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402  (puts the checkout on sys.path too)
import fig_tools  # noqa: E402

# key: (operator, goal, unit, what needs the large sample)
GOALS: dict[str, tuple[str, float]] = {
    "image_switch_ms": ("<=", 150),
    "image_cold_ms": ("<=", 500),
    "image_payload_bytes": ("<=", 6e5),  # issue 12: the frame travels compressed (600 KB)
    "baseline_ratio": (">=", 20),
    "histogram_10m_ms": ("<=", 150),
    "skymap_all_tracts_s": ("<=", 2),
    "inventory_vs_butler_ratio": ("<=", 1.0),
    # real Chromium, click until the canvas shows the new frame, warm (issue 12: p50 <= 250, p95 <= 500)
    "browser_click_to_pixels_p50_ms": ("<=", 250),
    "browser_click_to_pixels_p95_ms": ("<=", 500),
    # the image tools of issue 16, each on the server, warm (bench/fig_tools.py)
    **{key: ("<=", goal) for key, goal in fig_tools.TOOL_GOALS.items()},
}
# survey-scale catalogs through LSDB on Dask (issue 17; bench/catalog_scale.py): 100 M rows
CATALOG_KEYS = {"catalog_histogram_cold_s", "catalog_histogram_warm_s", "catalog_density_cold_s",
                "catalog_server_rss_growth_mb"}
GOALS.update({"catalog_histogram_cold_s": ("<=", 8), "catalog_histogram_warm_s": ("<=", 2),
              "catalog_density_cold_s": ("<=", 10), "catalog_server_rss_growth_mb": ("<=", 100)})
EXTRA = ("server_start_to_first_render_s", "server_peak_rss_5_sessions_mb", "cache_hit_rate")
KEYS = tuple(GOALS) + EXTRA
IMAGE_KEYS = {"image_switch_ms", "image_cold_ms", "image_payload_bytes", "baseline_ratio", "cache_hit_rate"}
SERVER_KEYS = {"server_start_to_first_render_s", "server_peak_rss_5_sessions_mb"}
BROWSER_KEYS = {"browser_click_to_pixels_p50_ms", "browser_click_to_pixels_p95_ms"}
TOOL_KEYS = set(fig_tools.TOOL_KEYS)  # on the small sample and synthetic 4k files: no large sample
NEEDS_REPO = set(KEYS) - {"skymap_all_tracts_s"} - TOOL_KEYS - CATALOG_KEYS
# remote repositories (issue 14, bench/remote.py): a Butler server over loopback against the same
# repository's directory, on a small sample of its own (not the large one)
REMOTE_GOALS: dict[str, tuple[str, float]] = {
    "remote_warm_switch_ratio": ("<=", 1.5),
    "remote_cold_first_image_ratio": ("<=", 2),
    "remote_first_view_bytes_ratio": ("<=", 1.2),
    "remote_inventory_vs_butler_ratio": ("<=", 1.0),
}
GOALS.update(REMOTE_GOALS)
REMOTE_KEYS = set(REMOTE_GOALS)
KEYS = KEYS + tuple(REMOTE_GOALS)
# server CPU per interaction in process (issue 12: <= 60 ms; bench/inprocess.py), the slowest
# action's median, on the small sample (--sample), not the large one
INPROCESS_GOALS: dict[str, tuple[str, float]] = {"server_cpu_per_interaction_ms": ("<=", 60)}
GOALS.update(INPROCESS_GOALS)
KEYS = KEYS + tuple(INPROCESS_GOALS)
BENCHMARKS_MD = benchlib.ROOT / "BENCHMARKS.md"
RESULTS_START, RESULTS_END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def goals_of(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for key, (op, goal) in GOALS.items():
        if key not in results:
            continue
        value = results[key]
        met = None if value is None else (value <= goal if op == "<=" else value >= goal)
        out[key] = {"goal": goal, "op": op, "met": met}
    return out


def measure(args: argparse.Namespace, keys: set[str]) -> dict[str, Any]:
    repeat = args.repeat or (3 if args.quick else 7)
    started = time.perf_counter()
    results: dict[str, Any] = {k: None for k in KEYS if k in keys}
    details: dict[str, Any] = {}
    machine = benchlib.machine_info()
    repo_path = manifest = None
    if keys & NEEDS_REPO:
        repo_path, manifest = benchlib.ensure_large(args.repo, log)

    def merge(part: dict[str, Any]) -> None:
        details.update(part.pop("details", {}))
        results.update({k: v for k, v in part.items() if k in keys})

    if "skymap_all_tracts_s" in keys:
        import fig_data

        merge(fig_data.skymap_figures(repeat, log))
    if keys & IMAGE_KEYS:
        import fig_image

        merge(fig_image.run(repo_path, manifest, keys, repeat, log))
    if "histogram_10m_ms" in keys:
        import fig_data

        merge(fig_data.histogram_figures(repo_path, manifest, repeat, log))
    if "inventory_vs_butler_ratio" in keys:
        import fig_data

        merge(fig_data.inventory_figures(repo_path, max(3, repeat // 2) if args.quick else repeat, log))
    if keys & SERVER_KEYS:
        import fig_image
        import fig_server

        merge(fig_server.run(repo_path, fig_image.full_calexps(repo_path, manifest), keys,
                             1 if args.quick else 3, log))
    if keys & BROWSER_KEYS:
        import fig_browser

        part = fig_browser.browser_figures(repo_path, rounds=4 if args.quick else 8, log=log)
        warm = part["browser_click_to_pixels_warm_ms"] or {}  # (the goal's "warm": not each action's first click)
        merge({"browser_click_to_pixels_p50_ms": warm.get("p50_ms"),
               "browser_click_to_pixels_p95_ms": warm.get("p95_ms"),
               "details": {key: part[key] for key in ("browser_click_to_pixels_by_action", "browser_click_to_pixels_ms",
                                                      "browser_click_to_pixels_first_ms")}})
    if keys & REMOTE_KEYS:
        import remote as bench_remote

        merge(bench_remote.figures(repeat, log))
    if keys & TOOL_KEYS:
        merge(fig_tools.run(Path(args.sample) if args.sample else None, keys, max(3, repeat), log))
    if keys & CATALOG_KEYS:
        import catalog_scale

        large_hats = (repo_path / "hats" / "survey_object") if repo_path else None
        merge(catalog_scale.figures(catalog=str(large_hats) if large_hats and large_hats.is_dir() else None,
                                    repeat=repeat, log=log))
    if "server_cpu_per_interaction_ms" in keys:
        import inprocess

        merge(inprocess.figures(Path(args.sample) if args.sample else None, max(3, repeat), log))
    machine["loadavg_end"] = benchlib.loadavg()
    return {**results, "goals": goals_of(results), "details": details, "machine": machine,
            "repo": benchlib.repo_info(repo_path, manifest),
            "run": {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "quick": bool(args.quick),
                    "repeat": repeat, "only": sorted(keys) if args.only else None,
                    "wall_s": round(time.perf_counter() - started, 1)}}


# ----- output --------------------------------------------------------------------------------------
def fmt(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key == "image_payload_bytes":
        return f"{value:,.0f} B ({value / 1e6:.2f} MB)"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def markdown_table(res: dict[str, Any]) -> str:
    """The results table (and machine line) that goes between the markers in BENCHMARKS.md."""
    lines = ["| figure | value | goal | met |", "|---|---:|---:|:---:|"]
    for key in KEYS:
        if key not in res:
            continue
        g = res.get("goals", {}).get(key)
        goal = f"{g['op']} {g['goal']:g}" if g else "(reported)"
        met = "" if not g or g["met"] is None else ("yes" if g["met"] else "**no**")
        lines.append(f"| `{key}` | {fmt(key, res.get(key))} | {goal} | {met} |")
    m, r, run = res.get("machine", {}), res.get("repo") or {}, res.get("run", {})
    v = m.get("versions", {})
    lines += ["", f"Run {run.get('date')} ({'--quick, ' if run.get('quick') else ''}{run.get('repeat')} repeats, "
              f"{run.get('wall_s')} s in all). Machine: {m.get('cpu_count')} x {m.get('cpu_model')}, "
              f"{m.get('ram_gb')} GB RAM, Python {m.get('python')}; load average at start "
              f"{m.get('loadavg')}, at end {m.get('loadavg_end')}.",
              "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val) + "."]
    if r:
        lines.append(f"Repository: `{r.get('path')}` ({r.get('size')} sample: {r.get('visits')} visits, "
                     f"{r.get('calexps')} calexps of {r.get('calexp_box')}, {r.get('source_rows'):,} sourceTable rows, "
                     f"{(r.get('bytes_on_disk') or 0) / 1e9:.2f} GB).")
    d = res.get("details", {})
    notes = []
    if "image_cold_ms" in d:
        notes.append(f"cold page-cache drop: {', '.join(d['image_cold_ms']['page_cache_drop'])}"
                     f" (resident before the switch: {d['image_cold_ms'].get('resident_fraction_before')})")
    if "baseline_ratio" in d:
        b = d["baseline_ratio"]
        nb = b["notebook_page_cache_warm"]["ms"]["median"]
        cold, afw_style = b["notebook_page_cache_cold"]["ms"]["median"], b["notebook_afw_style"]["ms"]["median"]
        notes.append(f"notebook's way {nb:.0f} ms (page cache warm; cold {cold:.0f} ms; "
                     f"afw.display-style with asinh and mask overlay {afw_style:.0f} ms); "
                     f"ours first view {b['ours_first_view_page_cache_warm']['ms']['median']:.0f} ms. Ratios: "
                     f"vs warm switch {b['ratio_vs_switch']} (the figure), vs first view {b['ratio_first_view']}, "
                     f"afw-style vs first view {b['ratio_afw_style_first_view']}, "
                     f"cold vs cold {b['ratio_cold_vs_cold']}")
    if "histogram_10m_ms" in d:
        h = d["histogram_10m_ms"]
        notes.append(f"histogram of {h['rows']:,} rows: linear x {h['linear_x_ms']['median']} ms; with the read "
                     f"from {h['files']} parquet files cold {h['with_read_cold_ms']} ms, cached "
                     f"{h['with_read_cached_ms']['median']} ms")
    if "inventory_vs_butler_ratio" in d:
        i = d["inventory_vs_butler_ratio"]
        notes.append(f"inventory {i['ours_s']['median']} s vs butler {i['butler_total_s']} s ("
                     + ", ".join(f"{k} {val['median']} s" for k, val in i["butler_s"].items()) + ")")
    if "image_payload_bytes" in d:
        p = d["image_payload_bytes"]
        notes.append(f"payload: frame {p['frame_shape']}, binary buffers {p['binary_buffers']:,} B, "
                     f"json_item {p['json_item_bytes']:,} B, full frame {p['full_frame_bytes']:,} B"
                     + (f", sent as {p['encoding']} ({p['encoded_bytes']:,} B; raw RGBA {p['rgba_bytes']:,} B), "
                        f"encode {p['encode_cpu_ms']} ms CPU" if "encoding" in p else ""))
    if "server_peak_rss_5_sessions_mb" in d:
        s = d["server_peak_rss_5_sessions_mb"]
        notes.append(f"server: RSS after the first page {s['rss_after_first_page_mb']} MB, peak {s['vm_hwm_mb']} MB "
                     f"after {s['sessions']} sessions ({s['sessions_with_image']} with their image), "
                     f"median session page {s['session_page_s']['median']} s")
    if "remote" in d:
        r = d["remote"]
        notes.append(f"remote over loopback: cold first image {r['cold_first_image_ms']['remote']['median']} ms vs "
                     f"local {r['cold_first_image_ms']['local']['median']} ms ({r['cold_round_trips']['file_server']} "
                     f"file and {r['cold_round_trips']['butler_server']} Butler server requests); warm switch "
                     f"{r['warm_switch_ms']['remote']['median']} ms vs {r['warm_switch_ms']['local']['median']} ms; "
                     f"inventory {r['inventory_s']['repo_explorer']} s "
                     f"vs butler {r['inventory_s']['butler_cli_total']} s")
    if "server_cpu_per_interaction" in d:
        notes.append("server CPU per interaction in process (median ms; patch KB): " + ", ".join(
            f"{a} {v['cpu_ms_median']} ({v['patch_kb_median']} KB)"
            for a, v in d["server_cpu_per_interaction"]["actions"].items()))
    tools = [k for k in fig_tools.TOOL_KEYS if k in d]
    if tools:
        notes.append("tools (median ms of each case; the figure is the slowest case): " + "; ".join(
            f"{k}: " + ", ".join(f"{case} {v['median']} (CPU {v.get('cpu_median')})" for case, v in d[k].items()
                                 if isinstance(v, dict) and "median" in v) for k in tools))
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines)


def write_benchmarks(res: dict[str, Any], path: Path = BENCHMARKS_MD) -> None:
    """Replace the text between the results markers of BENCHMARKS.md (nothing else changes)."""
    text = path.read_text()
    a, b = text.find(RESULTS_START), text.find(RESULTS_END)
    if a < 0 or b < a:
        raise SystemExit(f"bench: {path} lacks the {RESULTS_START} / {RESULTS_END} markers")
    path.write_text(text[:a + len(RESULTS_START)] + "\n" + markdown_table(res) + "\n" + text[b:])
    log(f"wrote the results table into {path}")


def text_table(res: dict[str, Any]) -> str:
    rows = []
    for key in KEYS:
        if key in res:
            g = res["goals"].get(key)
            verdict = "" if not g or g["met"] is None else ("met" if g["met"] else "MISSED")
            tail = f"  goal {g['op']} {g['goal']:g}: {verdict}" if verdict else ""
            rows.append(f"{key:34s} {fmt(key, res[key]):>24s}{tail}")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--markdown", action="store_true", help="print the results table for BENCHMARKS.md")
    ap.add_argument("--write-benchmarks", action="store_true",
                    help="rewrite the results section of BENCHMARKS.md (between its markers)")
    ap.add_argument("--from-json", metavar="FILE", help="use saved results instead of measuring")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (under 5 minutes with the sample built)")
    ap.add_argument("--only", metavar="KEY[,KEY]", help=f"measure only these figures ({', '.join(KEYS)})")
    ap.add_argument("--repo", help="a large sample repository to reuse (default bench/out/large, built if absent)")
    ap.add_argument("--sample", help="the small sample repository for the tool_* figures (default: the "
                    "project's sample, built if absent)")
    ap.add_argument("--repeat", type=int, help="repeats per figure (default 7, --quick 3)")
    ap.add_argument("--growth", metavar="SIZES", help="instead: the growth table over survey samples, e.g. "
                    "survey-25k,survey-250k,survey (bench/growth.py; samples built in bench/out if absent)")
    args = ap.parse_args(argv)
    if args.growth:
        import growth

        return growth.main(["--sizes", args.growth] + (["--json"] if args.json else []))
    if args.from_json:
        res = json.loads(Path(args.from_json).read_text())
    else:
        keys = set(KEYS)
        if args.only:
            keys = {k.strip() for k in args.only.split(",") if k.strip()}
            if "tools" in keys:  # every tool_* figure
                keys = (keys - {"tools"}) | TOOL_KEYS
            unknown = keys - set(KEYS)
            if unknown:
                ap.error(f"unknown figure(s) {', '.join(sorted(unknown))}; figures are {', '.join(KEYS)}")
        res = measure(args, keys)
    if args.write_benchmarks:
        write_benchmarks(res)
    if args.json:
        print(json.dumps(res, indent=1))
    elif args.markdown:
        print(markdown_table(res))
    elif not args.write_benchmarks:
        print(text_table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
