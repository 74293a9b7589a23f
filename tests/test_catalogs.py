"""explorer.repo.catalogs on real afw.table files (checked against astropy's own reading) and parquet
files written here the way the Butler's DataFrame / ArrowAstropy storage classes write them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.io import fits

from explorer.repo import catalogs as C
from explorer.repo.errors import BadFileError, ExplorerError

AFW = Path("lsst_afw") / "tests" / "data"

# (file under real_dir, rows, TFIELDS, flag bits, variable-length fields)
REAL_CATALOGS = [
    (AFW / "sourceCatalog-hsc-v2.fits", 5, 115, 114, 0),
    (AFW / "deepCoadd_meas_HSC_v2.fits", 10, 263, 237, 0),
    (AFW / "sourceTable-v1.fits", 3, 18, 3, 0),
    (AFW / "sourceTable-v2.fits", 3, 18, 3, 0),
    (AFW / "ticket42210.fits", 0, 300, 290, 0),
    (AFW / "exposure_catalog_v1.fits", 2, 12, 0, 0),
    (Path("lsst_drp_tasks") / "tests" / "data" / "visitSummary_1176.fits", 103, 40, 0, 0),
    (Path("lsst_meas_algorithms") / "tests" / "data" / "version1" / "ref_cats" / "cal_ref_cat" / "4022.fits",
     100, 7, 0, 0),
    (Path("lsst_pipe_tasks") / "tests" / "data" / "v695833-e0-c000.xy.fits", 337, 18, 13, 5),
    (Path("lsst_obs_test") / "data" / "input" / "defects" / "defects.fits", 504, 6, 0, 0),
]


def _expected_columns(path: Path) -> int:
    """Output columns predicted from the header alone, independently of the reader's code."""
    hdr = fits.getheader(path, 1)
    total = 0
    for n in range(1, hdr["TFIELDS"] + 1):
        tform = hdr[f"TFORM{n}"]
        repeat = int("".join(ch for ch in tform if ch.isdigit()) or 1)
        code = tform.lstrip("0123456789")[0]
        if code in "PQ":
            continue
        total += 1 if code == "A" else repeat
    return total


@pytest.mark.real
@pytest.mark.parametrize("rel,rows,fields,flags,varlen", REAL_CATALOGS, ids=lambda v: getattr(v, "name", None))
def test_real_catalog_shapes(real_dir, rel, rows, fields, flags, varlen):
    path = real_dir / rel
    hdr = fits.getheader(path, 1)
    assert hdr["TFIELDS"] == fields and hdr["NAXIS2"] == rows  # README facts
    assert C.catalog_length(path) == rows
    schema = C.catalog_schema(path)
    assert len(schema) == _expected_columns(path)
    assert sum(c.dtype == "bool" for c in schema) >= flags
    df = C.read_catalog(path)
    assert df.shape == (rows, len(schema))
    assert list(df.columns) == [c.name for c in schema]
    assert len(df.attrs["skipped_columns"]) == varlen
    for col in df.columns:
        dt = df[col].dtype
        if isinstance(dt, np.dtype):
            assert dt.isnative, col


@pytest.mark.real
def test_flag_bits_match_astropy(real_dir):
    path = real_dir / AFW / "sourceCatalog-hsc-v2.fits"
    df = C.read_catalog(path)
    with fits.open(path) as h:
        truth = np.array(h[1].data["flags"])  # astropy's own unpacking of the 114X column
        hdr = h[1].header
    assert truth.shape == (5, 114)
    for n in range(1, 115):
        np.testing.assert_array_equal(df[hdr[f"TFLAG{n}"]].to_numpy(), truth[:, n - 1], err_msg=hdr[f"TFLAG{n}"])
    assert df["base_SdssCentroid_flag"].dtype == bool
    assert truth.any() and not truth.all()


@pytest.mark.real
def test_source_catalog_values_units_aliases(real_dir):
    path = real_dir / AFW / "sourceCatalog-hsc-v2.fits"
    df = C.read_catalog(path)
    assert df["id"].dtype == np.int64 and df["id"].iloc[0] == 1055054421295105
    with fits.open(path) as h:
        ra = np.array(h[1].data["coord_ra"])
    np.testing.assert_array_equal(df["coord_ra"].to_numpy(), ra)  # radians, as stored
    assert 0 < df["coord_ra"].max() < 2 * np.pi
    schema = {c.name: c for c in C.catalog_schema(path)}
    assert schema["coord_ra"].unit == "rad" and schema["coord_ra"].doc == "position in ra/dec"
    assert schema["calib_psf_candidate"].dtype == "bool"
    assert schema["calib_psf_candidate"].doc.startswith("Flag set if the source was a candidate")
    aliases = df.attrs["aliases"]
    assert len(aliases) == 21 and aliases["slot_Centroid"] == "base_SdssCentroid"
    assert df.attrs["afw_type"] == "SOURCE" and df.attrs["afw_table_version"] == 1
    # a column asked for through an alias is the aliased column, under the asked name
    sub = C.read_catalog(path, ["slot_Centroid_x", "base_SdssCentroid_x"])
    np.testing.assert_array_equal(sub["slot_Centroid_x"], sub["base_SdssCentroid_x"])
    # afw header order: flags sit between the fields they follow
    cols = list(df.columns)
    assert cols[:5] == ["id", "coord_ra", "coord_dec", "parent", "calib_detected"]


@pytest.mark.real
def test_column_selection_reads_only_those(real_dir):
    path = real_dir / AFW / "deepCoadd_meas_HSC_v2.fits"
    full = C.read_catalog(path)
    sub = C.read_catalog(path, ["id", "base_PsfFlux_flux", "merge_footprint_i"])
    assert list(sub.columns) == ["id", "base_PsfFlux_flux", "merge_footprint_i"]
    pd.testing.assert_frame_equal(sub, full[list(sub.columns)], check_like=False)


@pytest.mark.real
def test_v1_sigma_and_v2_err_names(real_dir):
    v1 = C.read_catalog(real_dir / AFW / "sourceTable-v1.fits")
    v2 = C.read_catalog(real_dir / AFW / "sourceTable-v2.fits")
    assert {"a_fluxSigma", "b_xSigma", "c_xxSigma"} <= set(v1.columns)
    assert {"a_fluxErr", "b_xErr", "c_xxErr"} <= set(v2.columns)
    assert not any(c.endswith("Err") for c in v1.columns)
    assert v1.attrs["afw_table_version"] == 1 and v2.attrs["afw_table_version"] == 2
    assert v1.attrs["aliases"]["slot_Centroid"] == "b"
    with pytest.raises(C.UnknownColumnError, match=r"no column 'a_fluxErr' in .*sourceTable-v1.fits; "
                                                   r"it has 20 columns such as .*did you mean"):
        C.read_catalog(real_dir / AFW / "sourceTable-v1.fits", ["a_fluxErr"])


@pytest.mark.real
def test_empty_v0_catalog(real_dir):
    path = real_dir / AFW / "empty-v0.fits"
    df = C.read_catalog(path)
    assert len(df) == 0 and C.catalog_length(path) == 0
    assert {"coord_ra", "coord_dec", "centroid_sdss_x", "centroid_sdss_y",
            "shape_sdss_xx", "shape_sdss_yy", "shape_sdss_xy"} <= set(df.columns)
    assert "coord" not in df.columns
    assert df.attrs["afw_table_version"] is None
    assert list(C.read_catalog(path, ["coord"]).columns) == ["coord_ra", "coord_dec"]


@pytest.mark.real
def test_visit_summary_strings_and_arrays(real_dir):
    path = real_dir / "lsst_drp_tasks" / "tests" / "data" / "visitSummary_1176.fits"
    df = C.read_catalog(path, ["id", "visit", "band", "physical_filter", "raCorners", "zeroPoint"])
    assert (df["visit"] == 1176).all() and (df["band"] == "z").all() and (df["physical_filter"] == "HSC-Z").all()
    assert [c for c in df.columns if c.startswith("raCorners")] == [f"raCorners_{i}" for i in range(4)]
    with fits.open(path) as h:
        np.testing.assert_array_equal(df["raCorners_2"].to_numpy(), np.array(h[1].data["raCorners"])[:, 2])
    assert df["zeroPoint"].between(25, 40).all()


@pytest.mark.real
def test_heavy_footprint_columns_skipped(real_dir):
    path = real_dir / "lsst_pipe_tasks" / "tests" / "data" / "v695833-e0-c000.xy.fits"
    df = C.read_catalog(path)
    assert df.attrs["skipped_columns"] == ["spans", "peaks", "heavyPix", "heavyMask", "heavyVar"]
    assert "footprint" in df.columns and len(df) == 337
    with pytest.raises(C.UnknownColumnError, match="variable-length"):
        C.read_catalog(path, ["heavyPix"])


@pytest.mark.real
def test_images_are_not_catalogs(real_dir):
    with pytest.raises(BadFileError, match="no binary table"):
        C.read_catalog(real_dir / AFW / "parent.fits")


# ------------------------------------------------------------------------------------------------
# parquet, written like the Butler's storage classes
# ------------------------------------------------------------------------------------------------
def _dataframe_parquet(path: Path) -> pd.DataFrame:
    """DataFrame storage class: pyarrow.Table.from_pandas keeps the named index in pandas metadata."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame({
        "coord_ra": rng.uniform(55, 58, 50),
        "coord_dec": rng.uniform(-38, -35, 50),
        "psfFlux": rng.lognormal(5, 1, 50).astype(np.float32),
        "band": ["i"] * 50,
        "extendedness": rng.integers(0, 2, 50).astype(bool),
    }, index=pd.Index(np.arange(1000, 1050, dtype=np.int64), name="objectId"))
    pq.write_table(pa.Table.from_pandas(df), path)
    return df


def test_parquet_dataframe_round_trip(tmp_path):
    path = tmp_path / "objectTable.parq"
    truth = _dataframe_parquet(path)
    assert C.catalog_length(path) == 50
    schema = C.catalog_schema(path)
    assert [c.name for c in schema] == ["coord_ra", "coord_dec", "psfFlux", "band", "extendedness", "objectId"]
    assert {c.name: c.dtype for c in schema}["psfFlux"] == "float32"
    df = C.read_catalog(path)
    assert df.attrs["index_columns"] == ["objectId"]
    np.testing.assert_array_equal(df["objectId"], truth.index)
    np.testing.assert_array_equal(df["psfFlux"], truth["psfFlux"])
    assert df["extendedness"].dtype == bool
    sub = C.read_catalog(path, ["psfFlux", "objectId"])
    assert list(sub.columns) == ["psfFlux", "objectId"]
    np.testing.assert_array_equal(sub["objectId"], truth.index)
    with pytest.raises(C.UnknownColumnError, match=r"no column 'psfFluxx' in .*; it has 6 columns .*psfFlux"):
        C.read_catalog(path, ["psfFluxx"])


def test_parquet_arrow_astropy_units(tmp_path):
    from astropy.table import Table
    import astropy.units as u

    t = Table({"ra": [1.0, 2.0], "mag": np.array([20.5, 21.5], dtype=np.float32), "id": [7, 8]})
    t["ra"].unit = u.deg
    t["ra"].description = "right ascension"
    t["mag"].unit = u.ABmag
    path = tmp_path / "arrowAstropy.parq"
    t.write(path, format="parquet")
    schema = {c.name: c for c in C.catalog_schema(path)}
    assert schema["ra"].unit == "deg" and schema["ra"].doc == "right ascension"
    assert schema["mag"].unit is not None and schema["mag"].dtype == "float32"
    df = C.read_catalog(path, ["mag"])
    assert list(df.columns) == ["mag"] and df["mag"].dtype == np.float32
    assert df.attrs["units"]["mag"] == schema["mag"].unit


def test_big_endian_fits_table_is_native(tmp_path):
    """A plain (non-afw) FITS table, unsigned ints via TZERO, read to native byte order."""
    cols = fits.ColDefs([
        fits.Column(name="x", format="D", array=np.array([1.5, -2.5])),
        fits.Column(name="u", format="I", bzero=32768, array=np.array([0, 65535], dtype=np.uint16)),
        fits.Column(name="v", format="3E", array=np.arange(6, dtype=np.float32).reshape(2, 3)),
        fits.Column(name="ok", format="L", array=np.array([True, False])),
    ])
    path = tmp_path / "t.fits"
    fits.BinTableHDU.from_columns(cols).writeto(path)
    df = C.read_catalog(path)
    assert list(df.columns) == ["x", "u", "v_0", "v_1", "v_2", "ok"]
    assert df["ok"].dtype == bool and df["ok"].tolist() == [True, False]
    assert df["u"].tolist() == [0, 65535] and df["u"].dtype == np.uint16
    assert df["x"].dtype == np.float64 and df["x"].dtype.isnative
    assert df["v_2"].tolist() == [2.0, 5.0]


# ------------------------------------------------------------------------------------------------
# broken files
# ------------------------------------------------------------------------------------------------
@pytest.mark.real
def test_truncated_real_catalog(real_dir, tmp_path):
    data = (real_dir / AFW / "sourceCatalog-hsc-v2.fits").read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[: 2880 * 26])  # inside the catalog's header+data
    with pytest.raises(BadFileError, match="cut.fits"):
        C.read_catalog(cut)


@pytest.mark.parametrize("content,match", [
    (b"", "empty"),
    (b"hello, world\n" * 50, "not a FITS or parquet"),
    (b"PAR1" + b"\x00" * 100, "parquet"),
])
def test_garbage_catalogs(tmp_path, content, match):
    path = tmp_path / "bad.cat"
    path.write_bytes(content)
    for fn in (C.read_catalog, C.catalog_schema, C.catalog_length):
        with pytest.raises(BadFileError, match=match) as err:
            fn(path)
        assert "\n" not in str(err.value)
        assert isinstance(err.value, ExplorerError)


def _patch_card(data: bytes, key: str, value: int) -> bytes:
    """Rewrite one integer card in raw FITS bytes (astropy would regenerate a consistent header)."""
    start = data.index(key.ljust(8).encode() + b"= ")
    card = f"{key:<8}= {value:>20}".ljust(80).encode()
    return data[:start] + card + data[start + 80:]


def test_hostile_table_header(tmp_path):
    """A table header claiming a million columns, or a billion rows: refused quickly, cleanly."""
    hdu = fits.BinTableHDU.from_columns([fits.Column(name="x", format="D", array=np.zeros(3))])
    good = tmp_path / "good.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(good)
    path = tmp_path / "hostile.fits"
    path.write_bytes(_patch_card(good.read_bytes(), "TFIELDS", 1_000_000))
    with pytest.raises(BadFileError, match="hostile.fits"):
        C.catalog_schema(path)
    path.write_bytes(_patch_card(good.read_bytes(), "NAXIS2", 10**9))
    with pytest.raises(BadFileError, match="hostile.fits.*truncated"):
        C.read_catalog(path)
