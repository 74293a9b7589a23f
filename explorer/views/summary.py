"""The Stack Club notebook's summary of a repository, as tables (pandas DataFrames).

The app shows them in Panel tables; here they are plain data, so they are testable and can be
printed in a notebook.
"""
from __future__ import annotations

from typing import Optional

import pandas as pd

from ..repo.model import Inventory


def repository_table(inv: Inventory, collection: Optional[str] = None) -> pd.DataFrame:
    """Two columns (quantity, value): the notebook's visits/detectors/filters/sources/tracts/area."""
    tracts = ", ".join(str(t) for t in inv.tracts[:12]) + (" ..." if len(inv.tracts) > 12 else "")
    rows = [
        ("Repository", f"{inv.root} ({inv.kind})"),
        ("Collection", collection or "all"),
        ("Instrument", inv.instrument or "-"),
        ("Bands", " ".join(inv.bands) or "-"),
        ("Visits", f"{inv.visits:,}"),
        ("Detectors", f"{inv.detectors:,}"),
        ("Sources", "-" if inv.sources is None else f"{inv.sources:,}"),
        ("Tracts", f"{len(inv.tracts)}" + (f": {tracts}" if inv.tracts else "")),
        ("Patches with data", f"{inv.patches:,}"),
        ("Sky area of tracts", f"{inv.sky_area_deg2:,.2f} deg²" + (f" (skymap {inv.skymap})" if inv.skymap else "")),
    ]
    return pd.DataFrame(rows, columns=["quantity", "value"])


def dataset_table(inv: Inventory) -> pd.DataFrame:
    """One row per dataset type: count, missing files (when checked), storage class, dimensions."""
    rows = []
    for d in inv.dataset_types:
        rows.append({
            "dataset type": d.name,
            "count": int(d.count),
            "missing": None if d.missing is None else int(d.missing),
            "storage class": d.storage_class or "-",
            "dimensions": ", ".join(d.dimensions),
        })
    df = pd.DataFrame(rows, columns=["dataset type", "count", "missing", "storage class", "dimensions"])
    if len(df) and df["missing"].notna().any():
        df["missing"] = df["missing"].astype("Int64")
    return df


def summary_counts(inv: Inventory) -> dict[str, object]:
    """Headline numbers for the page's summary cards."""
    missing = sum(d.missing or 0 for d in inv.dataset_types)
    return {
        "visits": inv.visits, "detectors": inv.detectors, "bands": len(inv.bands),
        "tracts": len(inv.tracts), "patches": inv.patches, "sources": inv.sources,
        "sky_area_deg2": inv.sky_area_deg2, "dataset_types": len(inv.dataset_types),
        "datasets": sum(d.count for d in inv.dataset_types),
        "missing": missing if any(d.missing is not None for d in inv.dataset_types) else None,
    }
