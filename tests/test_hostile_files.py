"""Hostile files: property-based tests of every reader against mutated copies of valid files.

Each test starts from a real, valid file (written by the project's own sample generator, or a small
one written here with astropy/sqlite3/pyarrow) and mutates it: truncation at any offset, random
byte flips in headers and data, header cards replaced by absurd values, YAML with python tags,
deep nesting and alias bombs, sqlite files that are truncated, overwritten, missing tables or with
wrongly typed columns.

The property, for every input: the reader returns a result or raises a subclass of
:class:`explorer.repo.errors.ExplorerError` whose message is one non-empty line — never any other
exception type — within a CPU-time limit (a SIGPROF timer per example),
and without allocating memory because a header *claims* a size (checked with tracemalloc on
targeted inputs and with the process' peak RSS over each property).

Reproducible: ``derandomize=True`` everywhere (the examples are a function of the test's source).
The only health check suppressed is ``function_scoped_fixture`` where noted: the fixture is a
read-only template, shared safely between examples.
"""
from __future__ import annotations

import contextlib
import resource
import signal
import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.repo import catalogs as C
from explorer.repo import fits as F
from explorer.repo.errors import ExplorerError
from explorer.repo.gen2_config import load_repository_cfg, resolve_chain
from explorer.repo.gen2_registry import RawRegistry, SqliteRegistry
from explorer.repo.yamlsafe import load_yaml

# A hard per-example limit in CPU seconds (SIGPROF): a hang spins, so it is caught at any load, and
# a busy machine (parallel test workers) does not fail a reader that merely waited for a core.
# hypothesis' own deadline counts wall time, so it is off.
EXAMPLE_SECONDS = 5.0
COMMON = dict(derandomize=True, deadline=None, database=None, print_blob=True)
MAX_RSS_GROWTH_MB = 800  # a property's examples together may not raise the peak RSS more than this


# ----------------------------------------------------------------------------------------------
# the property
# ----------------------------------------------------------------------------------------------
class Hang(BaseException):
    """Raised by the per-example timer; a BaseException so no reader's ``except Exception`` turns it
    into an ordinary BadFileError (fitsio.fits_errors catches every Exception)."""


@contextlib.contextmanager
def time_limit(seconds: float = EXAMPLE_SECONDS) -> Iterator[None]:
    """Fail (not hang) when the body uses more than ``seconds`` of CPU."""
    def on_alarm(signum, frame):
        raise Hang(f"reader still busy after {seconds} s of CPU: a hang on a hostile file")

    old = signal.signal(signal.SIGPROF, on_alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def outcome(fn: Callable[..., Any], *args, **kwargs) -> Any:
    """Call a reader: its result, or the ExplorerError it raised (checked to be one line).

    Any other exception propagates and fails the test with its type and traceback.
    """
    try:
        with time_limit():
            return fn(*args, **kwargs)
    except ExplorerError as exc:
        msg = str(exc)
        assert msg.strip(), f"{type(exc).__name__} with an empty message"
        assert "\n" not in msg and "\r" not in msg, f"multi-line message: {msg!r}"
        return exc


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


@pytest.fixture
def rss_guard():
    """The property's examples together must not push the process' peak RSS up by gigabytes."""
    before = peak_rss_mb()
    yield
    grown = peak_rss_mb() - before
    assert grown < MAX_RSS_GROWTH_MB, f"peak RSS grew by {grown:.0f} MB while reading hostile files"


# ----------------------------------------------------------------------------------------------
# templates: small valid files
# ----------------------------------------------------------------------------------------------
def _first(root: Path, pattern: str) -> Path:
    found = sorted(root.glob(pattern))
    assert found, f"the sample has no {pattern}"
    return found[0]


def _small_exposure(src: Path, dest: Path, n: int = 24, compress: bool = False) -> Path:
    """The sample calexp, planes cut to n x n, every header card and the afw archive kept."""
    from astropy.io import fits

    with fits.open(src) as hdul:
        out = [fits.PrimaryHDU(header=hdul[0].header)]
        for i in (1, 2, 3):
            hdr = hdul[i].header.copy()
            data = np.array(hdul[i].data[:n, :n])
            if compress and i != 2:
                hdu = fits.CompImageHDU(data, header=hdr, compression_type="RICE_1")
            else:
                hdu = fits.ImageHDU(data, header=hdr)
            out.append(hdu)
        archive_start = hdul.fileinfo(4)["hdrLoc"]
        fits.HDUList(out).writeto(dest, overwrite=True)
    with open(src, "rb") as fh:  # the archive HDUs verbatim (astropy cannot copy their VLA columns)
        fh.seek(archive_start)
        archive = fh.read()
    with open(dest, "ab") as fh:
        fh.write(archive)
    return dest


def _registry(path: Path, raw_cols: Optional[dict[str, str]] = None, rows: int = 6,
              with_raw_visit: bool = True, value: Callable[[str, int], Any] = None) -> Path:
    """A small Gen2 registry.sqlite3 with ``raw`` (imsim columns) and ``raw_visit`` tables."""
    raw_cols = raw_cols or {"visit": "INTEGER", "filter": "TEXT", "raftName": "TEXT", "detectorName": "TEXT",
                            "detector": "INTEGER", "expTime": "DOUBLE", "dateObs": "TEXT"}

    def default(col: str, i: int) -> Any:
        return {"visit": 159000 + i // 2, "filter": "gri"[i % 3], "raftName": "R22", "detectorName": f"S{i % 3}0",
                "detector": 90 + i % 3, "expTime": 30.0, "dateObs": "2022-10-21T05:24:40"}.get(col, i)

    value = value or default
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    try:
        cols = ", ".join('"' + c.replace('"', '""') + f'" {t}' for c, t in raw_cols.items())
        con.execute(f"CREATE TABLE raw ({cols})")
        con.executemany(f"INSERT INTO raw VALUES ({', '.join('?' * len(raw_cols))})",
                        [tuple(value(c, i) for c in raw_cols) for i in range(rows)])
        if with_raw_visit:
            con.execute("CREATE TABLE raw_visit (visit INTEGER, filter TEXT, expTime DOUBLE, dateObs TEXT)")
            con.executemany("INSERT INTO raw_visit VALUES (?, ?, ?, ?)",
                            [(value("visit", i), value("filter", i), 30.0, "2022-10-21") for i in range(rows)])
        con.commit()
    finally:
        con.close()
    return path


REPO_CFG = """!RepositoryCfg_v1
_mapper: !!python/name:lsst.obs.lsst.imsim.ImsimMapper ''
_mapperArgs: {}
_parents:
- ../input
- !RepositoryCfg_v1
  _mapper: !!python/name:lsst.obs.lsst.imsim.ImsimMapper ''
  _mapperArgs: {}
  _parents: []
  _policy: null
  _root: /global/cscratch1/sd/desc/DC2/data/Run2.2i/rerun/calexp-v1
_policy:
  data:
    datasets:
      deepCoadd_calexp: {template: 'deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/calexp.fits'}
_root: null
"""


@pytest.fixture(scope="module")
def templates(sample_gen3, tmp_path_factory) -> dict[str, bytes]:
    """Bytes of small valid files: afw exposures (plain and tile-compressed), an afw source catalog,
    a parquet source table, a Gen2 registry and a repositoryCfg.yaml."""
    d = tmp_path_factory.mktemp("templates")
    calexp = _first(sample_gen3, "**/calexp/calexp/**/calexp_*.fits")
    out = {
        "exposure": _small_exposure(calexp, d / "calexp.fits").read_bytes(),
        "exposure_rice": _small_exposure(calexp, d / "calexp_rice.fits", compress=True).read_bytes(),
        "catalog": _first(sample_gen3, "**/calexp/src/**/src_*.fits").read_bytes(),
        "parquet": _first(sample_gen3, "**/sourceTable/**/*.parq").read_bytes(),
        "registry": _registry(d / "registry.sqlite3").read_bytes(),
        "cfg": REPO_CFG.encode(),
    }
    # the templates themselves read cleanly (else the properties below would prove nothing)
    for name in ("exposure", "exposure_rice"):
        p = d / f"{name}.fits"
        p.write_bytes(out[name])
        info = F.read_exposure_info(p)
        assert set(info.planes) == {"image", "mask", "variance"} and info.psf is not None
        assert F.read_plane(p, "image", info).shape == (24, 24)
    p = d / "cat.fits"
    p.write_bytes(out["catalog"])
    assert len(C.read_catalog(p)) > 0
    return out


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A scratch directory for the mutated files (one file per test, rewritten for every example)."""
    return tmp_path_factory.mktemp("hostile")


# ----------------------------------------------------------------------------------------------
# FITS byte-level helpers
# ----------------------------------------------------------------------------------------------
def fits_layout(data: bytes) -> list[dict]:
    """Per HDU of a valid FITS file: header start, END card offset, data start/end, and card offsets."""
    hdus = []
    pos = 0
    while pos + 2880 <= len(data):
        cards: dict[str, int] = {}
        off = pos
        end = None
        while off + 80 <= len(data):
            card = data[off:off + 80].decode("ascii", "replace")
            key = card[:8].strip()
            if key == "HIERARCH":
                key = card[9:].split("=", 1)[0].strip()
            if key == "END":
                end = off
                break
            if key and key not in cards:
                cards[key] = off
            off += 80
        assert end is not None
        data_start = (end // 2880 + 1) * 2880

        def num(k: str, cards=cards) -> int:
            return int(data[cards[k] + 10:cards[k] + 80].split(b"/")[0]) if k in cards else 0

        naxis = num("NAXIS")
        npix = 1
        for i in range(1, naxis + 1):
            npix *= num(f"NAXIS{i}")
        size = (abs(num("BITPIX")) // 8) * (npix + num("PCOUNT")) if naxis else 0
        data_end = data_start + -(-size // 2880) * 2880
        hdus.append({"start": pos, "end": end, "data": (data_start, data_end), "cards": cards})
        pos = data_end
    return hdus


def card_bytes(key: str, raw_value: str) -> bytes:
    text = f"{key:<8}= {raw_value:>20}" if len(key) <= 8 else f"HIERARCH {key} = {raw_value}"
    return text.ljust(80)[:80].encode("ascii")


def set_card(buf: bytearray, layout: list[dict], hdu: int, key: str, raw_value: str) -> None:
    """Overwrite ``key``'s card in HDU ``hdu`` (or add it before END when the block has room)."""
    h = layout[hdu % len(layout)]
    card = card_bytes(key, raw_value)
    if key in h["cards"]:
        off = h["cards"][key]
        buf[off:off + 80] = card
    elif (h["end"] + 80) % 2880 != 0:  # room for END after the new card, inside the same block
        off = h["end"]
        buf[off:off + 80] = card
        buf[off + 80:off + 160] = b"END".ljust(80)


HOSTILE_VALUES = [
    "0", "-1", "-2880", "1", "2", "3", "7", "8", "-32", "-64", "999", "100000", "2147483647", "2147483648",
    "9223372036854775807", "99999999999999999999999", "-99999999999", "1E300", "-1E300", "1.5", "NAN", "INF",
    "T", "F", "''", "'GARBAGE '", "'RICE_1  '", "'NOCOMPRESS'", "'HCOMPRESS_1'", "'PLIO_1  '", "'GZIP_2  '",
    "'IMAGE   '", "'BINTABLE'", "'MASK    '", "'ARCHIVE_INDEX'", "'RA---TAN'", "'DEC--TAN'", "'LINEAR  '",
    "'1000000000D'", "'0D      '", "'-1D     '", "'Z       '", "'99999X  '", "'PJ(99999999)'", "'2D      '",
    "'1QD(1)  '", "'A       '", "'9999999A'", "'1E      '", "'[1:99999999,1:2]'", "'[5:1,3:2]'", "= =", "'",
]
EXPOSURE_KEYS = [
    "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "PCOUNT", "GCOUNT", "BZERO", "BSCALE", "EXTEND",
    "EXTTYPE", "EXTNAME", "INHERIT", "LTV1", "LTV2", "CRVAL1A", "CTYPE1A", "CTYPE1", "CTYPE2", "CRPIX1", "CRVAL1",
    "CRVAL2", "CD1_1", "CD2_2", "CDELT1", "A_ORDER", "AP_ORDER", "RADESYS", "WCSAXES", "MP_BAD", "MP_DETECTED",
    "MP_EDGE", "AR_HDU", "PSF_ID", "ARCHIVE_ID_PSF", "PHOTOCALIB_ID", "ARCHIVE_ID_PHOTOCALIB", "FILTER_ID",
    "ARCHIVE_ID_FILTER", "DETECTOR_ID", "ARCHIVE_ID_DETECTOR", "FLUXMAG0", "EXPTIME", "DATE-AVG", "FILTER",
    "TFIELDS", "TFORM1", "TFORM2", "TFORM3", "TFORM6", "TTYPE1", "TTYPE2", "THEAP", "ZIMAGE", "ZCMPTYPE",
    "ZBITPIX", "ZNAXIS", "ZNAXIS1", "ZNAXIS2", "ZTILE1", "ZTILE2", "ZNAME1", "ZVAL1", "ZQUANTIZ", "DATASEC",
    "DETSEC", "SIMPLE", "END",
]
CATALOG_KEYS = [
    "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP", "AFW_TYPE",
    "AFW_TABLE_VERSION", "EXTTYPE", "ALIAS", "TFLAG1", "TFLAG2", "TFDOC1", "TCCLS2", "TCCLS3", "TZERO1", "TSCAL1",
    "TZERO2", "TSCAL3",
] + [f"{k}{n}" for k in ("TFORM", "TTYPE", "TUNIT") for n in range(1, 9)]


def fits_mutations(template: str, keys: list[str]):
    """A strategy of (mutated bytes, description) for one FITS template."""
    @st.composite
    def build(draw):
        data = TEMPLATES[template]
        layout = LAYOUTS[template]
        buf = bytearray(data)
        kind = draw(st.sampled_from(["cards", "cards", "header_flips", "data_flips", "truncate", "mixed"]))
        what = [kind]
        if kind in ("cards", "mixed"):
            for _ in range(draw(st.integers(1, 3))):
                hdu = draw(st.integers(0, len(layout) - 1))
                key = draw(st.sampled_from(keys))
                value = draw(st.sampled_from(HOSTILE_VALUES))
                set_card(buf, layout, hdu, key, value)
                what.append(f"HDU{hdu} {key}={value}")
        if kind in ("header_flips", "mixed"):
            for _ in range(draw(st.integers(1, 6))):
                h = layout[draw(st.integers(0, len(layout) - 1))]
                off = draw(st.integers(h["start"], h["end"] + 79))
                buf[off] = draw(st.integers(0, 255))
                what.append(f"flip@{off}")
        if kind == "data_flips":
            for _ in range(draw(st.integers(1, 16))):
                off = draw(st.integers(0, len(buf) - 1))
                buf[off] ^= 1 << draw(st.integers(0, 7))
                what.append(f"bit@{off}")
        if kind in ("truncate", "mixed"):
            cut = draw(st.integers(0, len(buf) - 1))
            del buf[cut:]
            what.append(f"cut@{cut}")
        return bytes(buf), " ".join(what)

    return build()


TEMPLATES: dict[str, bytes] = {}
LAYOUTS: dict[str, list[dict]] = {}


@pytest.fixture(scope="module", autouse=True)
def _publish_templates(templates):
    """Strategies are built at import time; they read the template bytes from these module dicts."""
    TEMPLATES.update(templates)
    for name in ("exposure", "exposure_rice", "catalog"):
        LAYOUTS[name] = fits_layout(templates[name])
    yield
    TEMPLATES.clear()
    LAYOUTS.clear()


def written(path: Path, data: bytes) -> Path:
    """``path``, holding ``data`` (a mutated file of one example)."""
    path.write_bytes(data)
    return path


def with_cards(data: bytes, hdu: int, cards: dict[str, str]) -> bytes:
    """``data`` (a FITS file) with these header cards of HDU ``hdu`` set."""
    buf = bytearray(data)
    layout = fits_layout(data)
    for key, value in cards.items():
        set_card(buf, layout, hdu, key, value)
    return bytes(buf)


def peak_allocation(run: Callable[[], Any]) -> tuple[Any, int]:
    """What ``run()`` returned, and the most bytes Python held allocated at once while it ran."""
    tracemalloc.start()
    try:
        out = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


def read_whole_exposure(path: Path) -> None:
    info = outcome(F.read_exposure_info, path)
    if isinstance(info, ExplorerError):
        return
    for plane in info.planes:
        arr = outcome(F.read_plane, path, plane, info)
        if not isinstance(arr, ExplorerError):
            assert arr.shape == tuple(info.shape) and arr.dtype.isnative
    outcome(F.read_plane, path, "image")  # without info: the reader parses the headers itself


def read_whole_catalog(path: Path) -> None:
    schema = outcome(C.catalog_schema, path)
    outcome(C.catalog_length, path)
    outcome(C.catalog_aliases, path)
    outcome(C.read_catalog, path)
    if not isinstance(schema, ExplorerError) and schema:
        outcome(C.read_catalog, path, [c.name for c in schema[:3]])


# ----------------------------------------------------------------------------------------------
# FITS exposures
# ----------------------------------------------------------------------------------------------
HOSTILE = dict(suppress_health_check=[HealthCheck.function_scoped_fixture])  # rss_guard is per test, not per example


@settings(max_examples=120, **COMMON, **HOSTILE)
@given(case=fits_mutations("exposure", EXPOSURE_KEYS))
def test_exposure_reader_on_mutated_files(case, work, rss_guard):
    data, what = case
    read_whole_exposure(written(work / "exposure.fits", data))


@settings(max_examples=60, **COMMON, **HOSTILE)
@given(case=fits_mutations("exposure_rice", EXPOSURE_KEYS))
def test_tile_compressed_exposure_on_mutated_files(case, work, rss_guard):
    data, what = case
    read_whole_exposure(written(work / "exposure_rice.fits", data))


@settings(max_examples=40, **COMMON, **HOSTILE)
@given(case=fits_mutations("exposure", EXPOSURE_KEYS), gz_cut=st.none() | st.floats(0, 1, exclude_max=True),
       gz_flip=st.none() | st.floats(0, 1, exclude_max=True))
def test_gzipped_exposure_on_mutated_files(case, gz_cut, gz_flip, work, rss_guard):
    """A whole-file gzip (astropy reads it without memmap): mutated inside, then cut or flipped outside."""
    import gzip

    data, what = case
    gz = bytearray(gzip.compress(data, compresslevel=1, mtime=0))
    if gz_flip is not None:
        gz[int(gz_flip * len(gz))] ^= 0x20
    if gz_cut is not None:
        del gz[max(2, int(gz_cut * len(gz))):]
    read_whole_exposure(written(work / "exposure.fits.gz", bytes(gz)))


def test_gzip_bomb_plane_is_refused_before_allocation(templates, work, monkeypatch):
    """A 6 MB .fits.gz whose image HDU claims 40000 x 40000 float32 (6.4 GB of gzip members of zeros)
    made read_plane ask astropy for a 6.4 GB array. Reproduced here at 1/64 scale (the limit lowered to
    64 MiB, a 6000 x 6000 claim) so the test stays fast: walking the HDUs of a gzip stream decompresses
    it, ~14 s at full scale. The plane read uses the info of the same layout's small file."""
    import gzip

    from astropy.io import fits

    monkeypatch.setattr(F, "MAX_DECOMPRESSED_BYTES", 64 * 1024**2)
    n = 6000
    small = work / "small.fits.gz"
    small.write_bytes(gzip.compress(templates["exposure"], mtime=0))
    info = F.read_exposure_info(small)
    assert info.plane_hdus["image"] == 1
    image = fits.ImageHDU(np.zeros((1, 1), np.float32)).header
    image["NAXIS1"], image["NAXIS2"], image["EXTTYPE"] = n, n, "IMAGE"
    zeros = gzip.compress(bytes(16 * 1024**2), mtime=0)
    bomb = work / "bomb.fits.gz"
    with open(bomb, "wb") as fh:
        fh.write(gzip.compress(fits.PrimaryHDU().header.tostring().encode() + image.tostring().encode(), mtime=0))
        for _ in range(-(-n * n * 4 // (16 * 1024**2))):
            fh.write(zeros)
    assert bomb.stat().st_size < 1024**2
    out, peak = peak_allocation(lambda: outcome(F.read_plane, bomb, "image", info))
    assert isinstance(out, ExplorerError) and "GiB decompressed" in str(out), out
    assert peak < 32 * 1024**2


@pytest.mark.parametrize("template", ["exposure", "exposure_rice"])
@pytest.mark.parametrize("hdu,cards", [
    (1, {"NAXIS1": "2000000000", "NAXIS2": "2000000000"}),
    (1, {"NAXIS1": "100000", "NAXIS2": "100000"}),
    (2, {"NAXIS1": "-5", "NAXIS2": "99999999999"}),
    (1, {"BITPIX": "-64", "NAXIS1": "65536", "NAXIS2": "65536"}),
    (4, {"NAXIS2": "2000000000"}),  # ARCHIVE_INDEX rows
    (5, {"NAXIS1": "2000000000"}),
    (1, {"ZNAXIS1": "2000000000", "ZNAXIS2": "2000000000", "ZTILE1": "2000000000"}),
    (1, {"PCOUNT": "9000000000000"}),
])
def test_size_claims_larger_than_the_file_allocate_nothing(templates, work, template, hdu, cards):
    """A header claiming gigabytes is refused from the file size, before any allocation."""
    path = written(work / f"claims_{template}.fits", with_cards(templates[template], hdu, cards))
    _, peak = peak_allocation(lambda: read_whole_exposure(path))
    assert peak < 64 * 1024**2, f"{peak / 1024**2:.0f} MB allocated for a {path.stat().st_size} byte file"
    info = outcome(F.read_exposure_info, path)
    if isinstance(info, ExplorerError):
        assert "fits in memory" not in str(info), "refused only after trying to allocate"


@pytest.mark.parametrize("hdu,key,value,check", [
    (2, "MP_BAD", "99", lambda info, orig: "BAD" not in info.mask_planes and "CR" in info.mask_planes),
    (2, "MP_CR", "-1", lambda info, orig: "CR" not in info.mask_planes),
    (2, "MP_EDGE", "'GARBAGE '", lambda info, orig: "EDGE" not in info.mask_planes),
    (1, "LTV1", "'GARBAGE '", lambda info, orig: info.xy0 == orig.xy0),  # from CRVAL1A (LINEAR) instead
    (1, "LTV2", "1E300", lambda info, orig: info.xy0 == orig.xy0),  # afw's xy0 is int32: ignored
    (1, "CRVAL1A", "1E300", lambda info, orig: info.xy0 == orig.xy0),  # LTV1 wins
    (1, "CTYPE1", "'GARBAGE '", lambda info, orig: info.wcs is None),
    (1, "CD1_1", "'GARBAGE '", lambda info, orig: True),
    (1, "CRVAL2", "1E300", lambda info, orig: True),
    (0, "AR_HDU", "-3", lambda info, orig: info.psf is not None),  # the index is found by its EXTTYPE
    (0, "PSF_ID", "'GARBAGE '", lambda info, orig: True),
    (0, "FLUXMAG0", "-1", lambda info, orig: info.zero_point_mag is not None),  # falls back to the PhotoCalib
])
def test_bad_cards_degrade_gracefully(templates, work, hdu, key, value, check):
    """Cards with nonsense values lose only what they describe; the exposure still reads."""
    original = work / "original.fits"
    original.write_bytes(templates["exposure"])
    orig = F.read_exposure_info(original)
    buf = bytearray(templates["exposure"])
    set_card(buf, fits_layout(templates["exposure"]), hdu, key, value)
    path = work / "degrade.fits"
    path.write_bytes(bytes(buf))
    info = outcome(F.read_exposure_info, path)
    assert not isinstance(info, ExplorerError), info
    assert check(info, orig)
    assert F.read_plane(path, "mask", info).shape == (24, 24)


# ----------------------------------------------------------------------------------------------
# afw catalog FITS
# ----------------------------------------------------------------------------------------------
@settings(max_examples=100, **COMMON, **HOSTILE)
@given(case=fits_mutations("catalog", CATALOG_KEYS))
def test_afw_catalog_reader_on_mutated_files(case, work, rss_guard):
    data, what = case
    read_whole_catalog(written(work / "catalog.fits", data))


@pytest.mark.parametrize("cards", [
    {"TFORM2": "'2000000000D'"},  # an array field of two billion elements
    {"TFORM1": "'2000000000X'"},  # two billion flags
    {"NAXIS2": "2000000000"},
    {"NAXIS1": "2000000000"},
    {"TFIELDS": "2000000000"},
    {"TFORM3": "'PJ(2000000000)'"},
])
def test_catalog_size_claims_allocate_nothing(templates, work, cards):
    path = written(work / "claims_catalog.fits", with_cards(templates["catalog"], 1, cards))
    _, peak = peak_allocation(lambda: read_whole_catalog(path))
    assert peak < 64 * 1024**2, f"{peak / 1024**2:.0f} MB allocated for a {path.stat().st_size} byte catalog"


# ----------------------------------------------------------------------------------------------
# parquet catalogs
# ----------------------------------------------------------------------------------------------
@settings(max_examples=80, **COMMON, **HOSTILE)
@given(kind=st.sampled_from(["truncate", "flips", "tail_flips"]), n=st.integers(1, 12),
       offsets=st.lists(st.floats(0, 1, exclude_max=True), min_size=12, max_size=12),
       byte=st.integers(0, 255))
def test_parquet_reader_on_mutated_files(kind, n, offsets, byte, work, rss_guard):
    buf = bytearray(TEMPLATES["parquet"])
    if kind == "truncate":
        del buf[int(offsets[0] * len(buf)):]
    elif kind == "flips":
        for f in offsets[:n]:
            buf[int(f * len(buf))] ^= byte or 1
    else:  # the footer (schema, row groups, key-value metadata) lives in the last few kB
        tail = min(len(buf) - 8, 4096)
        for f in offsets[:n]:
            buf[len(buf) - 8 - int(f * tail)] ^= byte or 1
    path = work / "table.parq"
    path.write_bytes(bytes(buf))
    read_whole_catalog(path)


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                       lambda inner: (st.lists(inner, max_size=3)
                                      | st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                       max_leaves=10)


@settings(max_examples=60, **COMMON, **HOSTILE)
@given(pandas_meta=st.one_of(st.binary(max_size=40), JSONISH.map(lambda v: __import__("json").dumps(v).encode()),
                             st.sampled_from([b'{"index_columns": 5}', b'{"index_columns": [{"kind": "range"}]}',
                                              b'{"index_columns": ["nope"], "columns": 3}', b"[1, 2]", b'"x"'])),
       yaml_meta=st.one_of(st.none(), st.binary(max_size=40),
                           st.sampled_from([b"datatype: 5", b"datatype: [1, {name: [1]}]",
                                            b"!!python/object/apply:os.system ['true']", b"[" * 500])))
def test_parquet_with_garbage_metadata(pandas_meta, yaml_meta, work, rss_guard):
    """The pandas and ArrowAstropy metadata of a parquet file are hostile input too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = {b"pandas": pandas_meta}
    if yaml_meta is not None:
        meta[b"table_meta_yaml"] = yaml_meta
    table = pa.table({"id": np.arange(5, dtype=np.int64), "psfFlux": np.linspace(1, 2, 5)})
    table = table.replace_schema_metadata(meta)
    path = work / "meta.parq"
    pq.write_table(table, path)
    read_whole_catalog(path)


# ----------------------------------------------------------------------------------------------
# Gen2 YAML (repositoryCfg.yaml)
# ----------------------------------------------------------------------------------------------
EXEC_TAGS = ["!!python/object/apply:os.system", "!!python/object/apply:subprocess.call",
             "!!python/object/new:subprocess.Popen", "!!python/object/apply:builtins.exec",
             "!!python/object/apply:builtins.eval", "!!python/object:os.system", "!!python/name:os.system",
             "!!python/module:os", "!<tag:yaml.org,2002:python/object/apply:os.system>", "!RepositoryCfg_v1",
             "!<lsst.daf.base.PropertySet>", "!butler_time/tai/iso"]


@settings(max_examples=80, **COMMON, **HOSTILE)
@given(tag=st.sampled_from(EXEC_TAGS), where=st.sampled_from(["top", "mapper", "parent", "policy", "args"]),
       form=st.sampled_from(["seq", "map", "scalar"]))
def test_yaml_python_tags_never_execute(tag, where, form, work, rss_guard):
    marker = work / "PWNED"
    if marker.exists():
        marker.unlink()
    cmd = f"touch {marker}"
    py = f"import pathlib; pathlib.Path('{marker}').touch()"
    arg = py if "exec" in tag or "eval" in tag else cmd
    payload = {"seq": f"{tag} [\"{arg}\"]", "map": f"{tag} {{args: [\"{arg}\"], cmd: \"{arg}\"}}",
               "scalar": f"{tag} \"{arg}\""}[form]
    text = {
        "top": f"--- {payload}\n",
        "mapper": f"!RepositoryCfg_v1\n_mapper: {payload}\n_parents: []\n",
        "parent": f"!RepositoryCfg_v1\n_mapper: x.y.Z\n_parents:\n- {payload}\n",
        "policy": f"!RepositoryCfg_v1\n_policy: {payload}\n",
        "args": f"!RepositoryCfg_v1\n_mapperArgs: {{calibRoot: {payload}}}\n",
    }[where]
    repo = work / "tagged_repo"
    repo.mkdir(exist_ok=True)
    cfg = repo / "repositoryCfg.yaml"
    cfg.write_text(text)
    outcome(load_yaml, text)
    outcome(load_yaml, cfg)
    outcome(load_repository_cfg, str(cfg))
    chain = outcome(resolve_chain, str(repo))
    if not isinstance(chain, ExplorerError) and where == "mapper":
        assert chain.mapper in (None, "os.system", "os"), "a python tag named the mapper"
    assert not marker.exists(), f"YAML tag {tag} executed code"


@settings(max_examples=80, **COMMON, **HOSTILE)
@given(kind=st.sampled_from(["truncate", "flips", "insert"]), pos=st.lists(st.integers(0, len(REPO_CFG) - 1),
       min_size=1, max_size=6), junk=st.sampled_from(["&a ", "*a", "*zz", "<<: *a\n", ": ", "- ", "!!", "!x ", "{",
                                                        "[", "\t", "\x00", "\ufeff", "'", "\"", "%YAML 9.9\n", "---\n",
                                                        "? ", "&a [*a]", "!!binary ", "!!timestamp 2001-13-45 ",
                                                        "!!int x ", "!!float ", "!!set {a, b}", "!!omap [1] "]))
def test_repository_cfg_mutations(kind, pos, junk, work, rss_guard):
    text = REPO_CFG
    if kind == "truncate":
        text = text[:pos[0]]
    elif kind == "flips":
        chars = list(text)
        for p in pos:
            chars[p] = junk[0]
        text = "".join(chars)
    else:
        for p in sorted(pos, reverse=True):
            text = text[:p] + junk + text[p:]
    repo = work / "mut_repo"
    repo.mkdir(exist_ok=True)
    (repo / "repositoryCfg.yaml").write_text(text)
    cfg = outcome(load_repository_cfg, str(repo / "repositoryCfg.yaml"))
    assert isinstance(cfg, (dict, ExplorerError))
    outcome(resolve_chain, str(repo))


@pytest.mark.parametrize("text", [
    "[" * 20000 + "]" * 20000,  # deep nesting
    "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 3000)),
    "!RepositoryCfg_v1\n_parents: " + "[" * 5000 + "]" * 5000,
    "!!python/object/apply:os.system " + "[" * 3000 + "]" * 3000,
], ids=["flow", "block", "parents", "tagged"])
def test_deeply_nested_yaml(text, work):
    out = outcome(load_yaml, text)
    assert not isinstance(out, RecursionError)
    (work / "deep").mkdir(exist_ok=True)
    (work / "deep" / "repositoryCfg.yaml").write_text(text)
    outcome(resolve_chain, str(work / "deep"))


def billion_laughs(levels: int = 9, fan: int = 9, at: str = "_parents") -> str:
    lines = ["!RepositoryCfg_v1", "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]")
    lines.append(f"{at}: *a{levels}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("at", ["_parents", "_policy", "_mapperArgs", "_mapper", "_root"])
def test_billion_laughs(at, work):
    """9**10 leaves by aliases: loading shares the nodes; nothing may walk them as a tree."""
    text = billion_laughs(at=at)
    repo = work / f"laughs_{at}"
    repo.mkdir(exist_ok=True)
    (repo / "repositoryCfg.yaml").write_text(text)
    _, peak = peak_allocation(lambda: (outcome(load_yaml, text), outcome(resolve_chain, str(repo))))
    assert peak < 64 * 1024**2, f"{peak / 1024**2:.0f} MB for a {len(text)} byte YAML file"


def test_recursive_alias_is_handled(work):
    repo = work / "recursive"
    repo.mkdir(exist_ok=True)
    (repo / "repositoryCfg.yaml").write_text("!RepositoryCfg_v1\n_parents: &p [*p]\n_policy: &q {data: *q}\n")
    outcome(resolve_chain, str(repo))


# ----------------------------------------------------------------------------------------------
# Gen2 sqlite registry
# ----------------------------------------------------------------------------------------------
def read_whole_registry(path: Path) -> None:
    db = SqliteRegistry(str(path))
    try:
        reg = outcome(RawRegistry, db)
        if isinstance(reg, ExplorerError):
            return
        for method in (reg.visits, reg.filters, reg.detectors, reg.visit_table, reg.detector_columns):
            outcome(method)
        outcome(db.tables)
        outcome(db.count, "raw")
        outcome(db.rows, "raw_visit")
    finally:
        db.close()


@settings(max_examples=80, **COMMON, **HOSTILE)
@given(kind=st.sampled_from(["truncate", "flips", "header_flips", "random"]),
       offsets=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=12),
       byte=st.integers(1, 255), noise=st.binary(min_size=0, max_size=4096))
def test_registry_on_mutated_files(kind, offsets, byte, noise, work, rss_guard):
    buf = bytearray(TEMPLATES["registry"])
    if kind == "truncate":
        del buf[int(offsets[0] * len(buf)):]
    elif kind == "flips":
        for f in offsets:
            buf[int(f * len(buf))] ^= byte
    elif kind == "header_flips":  # the 100-byte database header: page size, counts, schema cookie
        for f in offsets:
            buf[int(f * 100)] ^= byte
    else:
        buf = bytearray(noise) if not offsets[0] < 0.5 else bytearray(b"SQLite format 3\x00" + noise)
    path = work / "registry.sqlite3"
    path.write_bytes(bytes(buf))
    read_whole_registry(path)
    assert not (work / "registry.sqlite3-journal").exists() and not (work / "registry.sqlite3-wal").exists()


COLUMN_TYPES = ["INTEGER", "TEXT", "BLOB", "DOUBLE", "", "NUMERIC"]
WEIRD_VALUES = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=True),
                         st.text(max_size=6), st.binary(max_size=6))


@settings(max_examples=60, **COMMON, **HOSTILE)
@given(columns=st.dictionaries(st.sampled_from(["visit", "filter", "raftName", "detectorName", "detector", "ccd",
                                                "raft", "sensor", "expTime", "dateObs", "taiObs", "pointing",
                                                "weird \"name", "select"]),
                               st.sampled_from(COLUMN_TYPES), max_size=7),
       with_raw_visit=st.booleans(), rows=st.integers(0, 6), values=st.lists(WEIRD_VALUES, min_size=64, max_size=64))
def test_registry_with_missing_tables_and_wrong_types(columns, with_raw_visit, rows, values, work, rss_guard):
    path = work / "typed.sqlite3"
    if columns:
        _registry(path, columns, rows, with_raw_visit, value=lambda c, i: values[(hash(c) + 7 * i) % 64])
    else:  # no raw table at all (an empty or foreign sqlite file)
        if path.exists():
            path.unlink()
        sqlite3.connect(path).close()
    read_whole_registry(path)


def test_registry_with_text_that_is_not_utf8(work):
    """Found by atheris: a TEXT value with byte 0xff in sqlite_master raised UnicodeDecodeError."""
    path = work / "latin1.sqlite3"
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE raw (visit INTEGER, filter TEXT, detector INTEGER)")
    con.execute("INSERT INTO raw VALUES (1, CAST(X'67ff' AS TEXT), 5)")
    con.execute("CREATE TABLE raw_visit (visit INTEGER, filter TEXT)")
    con.execute("INSERT INTO raw_visit VALUES (1, CAST(X'ff72' AS TEXT))")
    con.execute("CREATE TABLE \"t\xe9\" (x)")  # a table name, then its bytes below
    con.commit()
    con.close()
    data = path.read_bytes().replace("t\xe9".encode(), b"t\xff\xfe")  # not UTF-8 in sqlite_master
    path.write_bytes(data)
    db = SqliteRegistry(str(path))
    try:
        reg = outcome(RawRegistry, db)
        assert not isinstance(reg, ExplorerError), reg
        assert outcome(reg.filters) == ["g\ufffd"]
        assert outcome(reg.visit_table)[0]["filter"] == "\ufffdr"
    finally:
        db.close()
    read_whole_registry(path)


def test_registry_with_a_broken_schema_that_is_not_utf8(work):
    """Found by atheris: 'CREATE TA\\xc2LE' in sqlite_master; sqlite's error message quotes the bad bytes
    and Python's sqlite3 raised UnicodeDecodeError decoding the *message*."""
    path = _registry(work / "badschema.sqlite3")
    data = path.read_bytes()
    assert b"CREATE TABLE raw" in data
    path.write_bytes(data.replace(b"CREATE TABLE raw", b"CREATE TA\xc2LE raw"))
    db = SqliteRegistry(str(path))
    try:
        reg = outcome(RawRegistry, db)
        assert isinstance(reg, ExplorerError) and "not UTF-8" in str(reg)
    finally:
        db.close()


def test_registry_that_is_a_directory_or_missing(work):
    (work / "dir.sqlite3").mkdir(exist_ok=True)
    read_whole_registry(work / "dir.sqlite3")
    read_whole_registry(work / "absent.sqlite3")
    assert not (work / "absent.sqlite3").exists(), "opening a missing registry created it"


# ----------------------------------------------------------------------------------------------
# coverage-guided fuzzing with atheris (optional: skipped when atheris is not installed)
# ----------------------------------------------------------------------------------------------
ATHERIS_HARNESS = r'''
import os, sys
import atheris

WORK = sys.argv.pop(1)
with atheris.instrument_imports(include=["explorer.repo"]):
    from explorer.repo import catalogs as C, fits as F
    from explorer.repo.errors import ExplorerError
    from explorer.repo.gen2_config import resolve_chain
    from explorer.repo.gen2_registry import RawRegistry, SqliteRegistry

EXT = [".fits", ".fits", ".parq", ".yaml", ".sqlite3"]


def read(kind, path):
    if kind == 0:
        info = F.read_exposure_info(path)
        for plane in info.planes:
            F.read_plane(path, plane, info)
    elif kind in (1, 2):
        C.catalog_schema(path)
        C.read_catalog(path)
    elif kind == 3:
        resolve_chain(os.path.dirname(path))
    else:
        db = SqliteRegistry(path)
        try:
            reg = RawRegistry(db)
            reg.visits(), reg.filters(), reg.detectors(), reg.visit_table()
        finally:
            db.close()


def one(data):
    if not data:
        return
    kind = data[0] % len(EXT)
    d = os.path.join(WORK, f"k{kind}")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "repositoryCfg.yaml" if kind == 3 else "input" + EXT[kind])
    with open(path, "wb") as fh:
        fh.write(data[1:])
    try:
        read(kind, path)
    except ExplorerError as exc:
        msg = str(exc)
        if not msg.strip() or "\n" in msg:
            raise AssertionError(f"not a one-line message: {msg!r}")


atheris.Setup(sys.argv, one)
atheris.Fuzz()
'''


def test_atheris_fuzz_all_readers(templates, tmp_path):
    """libFuzzer, seeded with the valid templates, for a bounded number of runs: any uncaught
    exception, a 5 s input or a 2 GB peak RSS is a failure (libFuzzer's -timeout/-rss_limit_mb)."""
    pytest.importorskip("atheris")
    import subprocess
    import sys

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, name in enumerate(["exposure", "catalog", "parquet", "cfg", "registry"]):
        (corpus / name).write_bytes(bytes([i]) + templates[name])
    (tmp_path / "harness.py").write_text(ATHERIS_HARNESS)
    (tmp_path / "work").mkdir()
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "harness.py"), str(tmp_path / "work"), str(corpus), "-seed=1",
         "-runs=1500", "-max_total_time=15", "-timeout=5", "-rss_limit_mb=2048",
         f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
    assert proc.returncode == 0, f"atheris found a failing input (artifact in {tmp_path}):\n{tail}"
    assert "stat::number_of_executed_units" in proc.stderr, tail
    print(next(line for line in proc.stderr.splitlines() if "number_of_executed_units" in line))
