"""What the selectors list: the visits a selection offers, and long lists as searchable options.

A survey has thousands of visits and hundreds of tracts: a selector shows at most
:data:`OPTION_LIMIT` options at once, each with a label to read and search and a count (the
detectors of a visit overlapping the chosen patch, the patches of a tract with data, the calexps
overlapping a patch), found by a type-ahead search. :meth:`OptionQueries.choose_visits` says, with
a note, how it chose the visits when nothing matches the whole selection.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

OPTION_LIMIT = 200  # options returned at once by a type-ahead search


@dataclass(frozen=True)
class VisitChoice:
    """The visits a selection offers, and how they were chosen (shown to the user)."""

    visits: list[int]
    note: str


@dataclass(frozen=True)
class Option:
    """One choice of a long list: its value, a label to show and search, and a count (e.g. the
    detectors of a visit that overlap the chosen patch)."""

    value: Any
    label: str
    count: int


class OptionQueries:
    """Visit choices and option lists: mixed into :class:`explorer.index.RepoIndex`.

    Uses the index's ``visits``, ``band_of_visit``, ``_bands_of``, ``_distinct``, ``_memoised``,
    ``calexp_type``, ``detectors``, ``overlapping``, ``visits_overlapping``, ``patch_coverage``,
    ``patches``, ``tract_stats`` and ``repo``.
    """

    def _visits_in_band(self, band: Optional[str]) -> set[int]:
        if band is None:
            return set(self.visits)
        return self._memoised(("visits_in_band", band), lambda: {
            int(v) for (v,) in self._distinct(self.calexp_type, ["visit"], {"band": band})})

    def choose_visits(self, tract: Optional[int], patch: Optional[str], band: Optional[str]) -> VisitChoice:
        """Visits overlapping the patch in the band; falling back, with a note saying so, to any
        band, then to the tract, then to every visit in the band, then to every visit."""
        def in_band(vs):
            return {v for v in vs if band is None or self.band_of_visit(v) == band}

        where_patch = f"tract {tract} patch {patch}"
        if tract is not None and patch is not None:
            over = self.visits_overlapping(tract, patch)
            for visits, note in ((in_band(over), f"visits in {band} overlapping {where_patch}"),
                                 (over, f"no {band} visit overlaps {where_patch}: visits in any band overlapping it")):
                if visits:
                    return VisitChoice(sorted(visits), note)
        if tract is not None:
            over_t = self.visits_overlapping(tract, None)
            for visits, note in ((in_band(over_t),
                                  f"no visit overlaps {where_patch}: {band} visits overlapping tract {tract}"),
                                 (over_t, f"no visit overlaps {where_patch}: visits overlapping tract {tract}")):
                if visits:
                    return VisitChoice(sorted(visits), note)
        for visits, note in ((self._visits_in_band(band), f"no visit overlaps the selection: every {band} visit"),
                             (set(self.visits), "every visit with a calexp")):
            if visits:
                return VisitChoice(sorted(visits), note)
        return VisitChoice([], "no calexps in this collection")

    def visit_options(self, tract: Optional[int], patch: Optional[str], band: Optional[str],
                      search: str = "", limit: int = OPTION_LIMIT) -> tuple[list[Option], int, str]:
        """The visits :meth:`choose_visits` offers, as options for a type-ahead selector: each with
        its band and the number of its detectors overlapping the patch (or tract), filtered by
        ``search`` (a substring of the visit number), at most ``limit`` of them. Returns (options, how
        many matched in all, the note)."""
        choice = self.choose_visits(tract, patch, band)
        text = (search or "").strip().lower()
        matches = [v for v in choice.visits if not text or text in str(v)]
        return self.describe_visits(matches[:limit], tract, patch), len(matches), choice.note

    def describe_visits(self, visits: list[int], tract: Optional[int], patch: Optional[str]) -> list[Option]:
        """Some visits as options labelled "visit · band · N detectors": N (the count) is how many
        of the visit's calexp detectors overlap the patch (or, when none do, the tract); without a
        tract there is no count to give. Two queries at most, whatever the number of visits: the
        (remembered) overlap join and the bands of the visits not known yet."""
        counts: dict[int, list[int]] = {}
        if tract is not None:
            counts = self.overlapping(tract, patch) or self.overlapping(tract, None)
        bands = self._bands_of([int(v) for v in visits])
        out = []
        for v in visits:
            n = len(counts.get(int(v), ()))
            label = " · ".join([str(v)] + ([bands[int(v)]] if bands.get(int(v)) else [])
                               + ([f"{n} detector{'s' if n != 1 else ''}"] if counts else []))
            out.append(Option(v, label, n))
        return out

    def detector_options(self, visit: Optional[int], tract: Optional[int] = None, patch: Optional[str] = None,
                         search: str = "", limit: int = OPTION_LIMIT) -> list[Option]:
        """The detectors of a visit as options (count 1 where the detector overlaps the chosen
        patch or tract, else 0, and the label says so), overlapping ones first; ``search`` filters
        on id or name."""
        dets = self.detectors(visit)
        over = (set(self.overlapping(tract, patch).get(int(visit), ()))
                if visit is not None and tract is not None else set())
        names = getattr(self.repo, "detector_names", lambda: {})()
        text = (search or "").strip().lower()
        out = []
        for d in sorted(dets, key=lambda d: (d not in over, d)):
            label = f"{d}" + (f" {names[d]}" if d in names else "")
            if text and text not in label.lower():
                continue
            out.append(Option(d, label + (" · on the patch" if d in over and patch is not None else
                                          " · on the tract" if d in over else ""), int(d in over)))
            if len(out) >= limit:
                break
        return out

    def tract_options(self, search: str = "", limit: int = OPTION_LIMIT) -> list[Option]:
        """Tracts with data as options: the count is the number of patches with data."""
        stats = self.tract_stats()
        text = (search or "").strip()
        out = [Option(t, f"{t}: {s['patches']} patches, {''.join(s['bands'])}", s["patches"])
               for t, s in stats.items() if not text or text in str(t)]
        return out[:limit]

    def patch_options(self, tract: Optional[int], search: str = "", limit: int = OPTION_LIMIT) -> list[Option]:
        """Patches of a tract with data as options: the count is the calexps overlapping each."""
        coverage = self.patch_coverage(tract)
        text = (search or "").strip().replace(" ", "")
        out = [Option(p, f"{p}: {coverage.get(p, 0)} calexps", coverage.get(p, 0))
               for p in self.patches(tract) if not text or text in p]
        return out[:limit]
