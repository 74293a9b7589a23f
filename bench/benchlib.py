"""Shared plumbing of the benchmark: timing, the page cache, the machine, the large sample.

Nothing here measures the explorer; the figure modules (``fig_*.py``) do. Every figure is a
median of repeated runs (:func:`median_ms`), and every "cold" figure first evicts the files it
reads from the operating system's page cache (:func:`drop_page_cache`), so the disk is really read.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_LARGE = BENCH_DIR / "out" / "large"

if str(ROOT) not in sys.path:  # run from a checkout without relying on the editable install
    sys.path.insert(0, str(ROOT))


def child_env() -> dict[str, str]:
    """Environment for subprocesses: the checkout first on PYTHONPATH, so `python -m explorer.cli` works."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def explorer_cli() -> list[str]:
    """The `repo-explorer` command, run as a module of this checkout."""
    return [sys.executable, "-m", "explorer.cli"]


def butler_cli() -> list[str]:
    """The `butler` command of lsst-daf-butler (the script if on PATH, else the module)."""
    exe = shutil.which("butler")
    return [exe] if exe else [sys.executable, "-m", "lsst.daf.butler.cli.butler"]


# ----- timing ------------------------------------------------------------------------------------
def median(values: Iterable[float]) -> float:
    vals = list(values)
    return float(statistics.median(vals)) if vals else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_timed(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of a subprocess, which must succeed (its stderr is shown if it does not)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), **kw)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-600:]}")
    return elapsed, proc


def summary(samples_s: list[float], scale: float = 1000.0, digits: int = 1) -> dict[str, Any]:
    """Median, min, max and every sample, scaled (default: seconds to milliseconds)."""
    vals = [s * scale for s in samples_s]
    return {"median": round(median(vals), digits), "min": round(min(vals), digits),
            "max": round(max(vals), digits), "samples": [round(v, digits) for v in vals]}


# ----- the page cache ----------------------------------------------------------------------------
def drop_page_cache(paths: Iterable[str | os.PathLike], global_drop: bool = True) -> list[str]:
    """Evict files from the page cache; returns the methods that worked.

    ``posix_fadvise(POSIX_FADV_DONTNEED)`` on each file needs no privileges and drops its clean
    pages; writing 1 to ``/proc/sys/vm/drop_caches`` (root only, whole machine) is tried as well
    when ``global_drop`` (after ``sync``).
    """
    methods: list[str] = []
    n = 0
    for p in paths:
        try:
            fd = os.open(os.fspath(p), os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            n += 1
        except (OSError, AttributeError):
            pass
        finally:
            os.close(fd)
    if n:
        methods.append("posix_fadvise(DONTNEED)")
    if global_drop:
        try:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as fh:
                fh.write("1\n")
            methods.append("/proc/sys/vm/drop_caches")
        except OSError:
            pass
    return methods


def resident_fraction(paths: Iterable[str | os.PathLike]) -> Optional[float]:
    """Fraction of the files' bytes in the page cache (via util-linux ``fincore``), or None."""
    exe = shutil.which("fincore")
    paths = [os.fspath(p) for p in paths]
    if not exe or not paths:
        return None
    proc = subprocess.run([exe, "--bytes", "--noheadings", "--raw", "--output", "RES,SIZE", *paths],
                          capture_output=True, text=True)
    res = size = 0
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            res += int(parts[0])
            size += int(parts[1])
    return round(res / size, 4) if size else None


# ----- the machine -------------------------------------------------------------------------------
PACKAGES = ("panel", "holoviews", "bokeh", "datashader", "numpy", "numba", "astropy", "pandas", "pyarrow",
            "lsst-daf-butler", "matplotlib")


def machine_info() -> dict[str, Any]:
    """CPU count and model, RAM, Python, package versions and the load average right now."""
    from importlib import metadata

    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu_count": os.cpu_count(), "cpu_model": model, "ram_gb": ram_gb,
            "python": platform.python_version(), "platform": platform.platform(),
            "versions": versions, "loadavg": loadavg()}


def loadavg() -> Optional[list[float]]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


# ----- the samples ---------------------------------------------------------------------------------
def small_sample(repo: Optional[str | os.PathLike] = None,
                 log: Optional[Callable[[str], None]] = None) -> Path:
    """``repo``, or the small sample repository (built first when absent)."""
    if repo is not None:
        return Path(repo)
    from explorer.defaults import ensure_sample

    return Path(ensure_sample(progress=log) if log is not None else ensure_sample())


# ----- the large sample --------------------------------------------------------------------------
def read_manifest(repo: Path) -> Optional[dict[str, Any]]:
    try:
        return json.loads((repo / "sample_manifest.json").read_text())
    except (OSError, ValueError):
        return None


def ensure_large(repo: Optional[str], log: Callable[[str], None]) -> tuple[Path, dict[str, Any]]:
    """The large sample to measure: ``repo`` if given, else ``bench/out/large`` (built when absent).

    A repository that exists is reused as it is; its manifest must say ``size: large`` unless it
    was given explicitly (then a warning is logged and the figures say which sample was used).
    """
    path = Path(repo).resolve() if repo else DEFAULT_LARGE
    manifest = read_manifest(path)
    if manifest is None:
        if repo:
            raise SystemExit(f"bench: {path} is not a sample repository (no sample_manifest.json)")
        if path.exists() and any(path.iterdir()):
            raise SystemExit(f"bench: {path} exists without a manifest (a failed build?): remove it first")
        log(f"building the large sample in {path} (about 3 minutes and 7 GB)")
        from explorer.sample import make_sample

        start = time.perf_counter()
        make_sample(path, layout="gen3", size="large", seed=1, progress=lambda m: log("  " + m))
        log(f"built in {time.perf_counter() - start:.0f} s")
        manifest = read_manifest(path)
    if manifest.get("size") != "large":
        if not repo:
            raise SystemExit(f"bench: {path} holds a {manifest.get('size')!r} sample, not 'large'")
        log(f"warning: {path} is a {manifest.get('size')!r} sample; figures are not comparable to the goals")
    return path, manifest


def repo_info(path: Optional[Path], manifest: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """What the JSON says about the measured repository."""
    if path is None:
        return None
    m = manifest or {}
    return {"path": str(path), "size": m.get("size"), "layout": m.get("layout"),
            "visits": len(m.get("visits", [])) or None, "calexps": len(m.get("calexps", [])) or None,
            "calexp_box": m.get("calexp_box") or next(
                (c["bbox"][2:] for c in m.get("calexps", []) if c.get("bbox")), None),
            "source_rows": (m.get("row_totals") or {}).get("sourceTable"),
            "bytes_on_disk": m.get("bytes_on_disk"), "files_on_disk": m.get("files_on_disk")}
