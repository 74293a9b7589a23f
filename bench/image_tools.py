"""Server time of each image tool (issue 16: each answers in <= 300 ms for a 4k x 4k calexp in the
warm cache; the RGB composite of three 4200 x 4200 coadd planes in <= 400 ms warm), case by case.

The figures and what they run on are in ``bench/fig_tools.py`` (``bench/run.py --only tools``
gives the same figures as JSON keys ``tool_*``, the slowest case of each tool); this script prints
every case:

    python bench/image_tools.py [--sample SAMPLE] [--repeat 7] [--only tool_rgb_ms,...]

One line per case: the median and the worst of ``--repeat`` runs, in milliseconds.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import fig_tools  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", "--repo", dest="sample",
                        help="the small sample repository (default: the project's sample)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", help="comma-separated tool_* keys (default: all)")
    args = parser.parse_args(argv)
    keys = set(args.only.split(",")) if args.only else set(fig_tools.TOOL_KEYS)

    def log(message):
        print(f"[tools {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    res = fig_tools.run(Path(args.sample) if args.sample else None, keys, args.repeat, log)
    details = res["details"]
    rows = []
    for key in fig_tools.TOOL_KEYS:
        if key not in res:
            continue
        for case, value in details.get(key, {}).items():
            if isinstance(value, dict) and "median" in value:
                rows.append((f"{key}: {case}", value["median"], value["worst"], value.get("cpu_median"),
                             fig_tools.TOOL_GOALS[key]))
            elif isinstance(value, dict):  # a group of cases (the screen scaling)
                for sub, v in value.items():
                    rows.append((f"{key}: {case}: {sub}", v["median"], v["worst"], v.get("cpu_median"), None))
    width = max(len(r[0]) for r in rows)
    print(f"{'tool: case':<{width}}  median ms  worst ms  CPU ms  goal")
    for name, med, worst, cpu, goal in rows:
        flag = "" if goal is None else (f"  <= {goal:.0f}" + ("" if med <= goal else "  OVER"))
        print(f"{name:<{width}}  {med:9.1f}  {worst:8.1f}  {cpu:6.1f}{flag}")
    if "tool_rgb_ms" in details:
        print(f"rgb cold first view (read, bin): {details['tool_rgb_ms']['cold_first_view_ms']} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
