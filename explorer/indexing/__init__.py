"""The parts of the repository index (:class:`explorer.index.RepoIndex`), one job each.

:mod:`explorer.index` composes them and is the one place to import from:

=====================  ===================================================================
``memo.py``            the bounded, thread-safe LRU that remembers an index's answers
``patches.py``         patch names as "x,y" and their order, whatever the backend calls them
``mappings.py``        the legacy mapping attributes (``coadds``, ``calexps``, ``visit_band``,
                       ``footprints()``) that answer key by key
``footprints.py``      regions and footprints on the sky: tract and patch regions, calexp
                       footprints, the overlap join, coverage counts per patch
``options.py``         what the selectors list: visit choices with their fallbacks, and option
                       lists (value, label, count) for visits, detectors, tracts and patches
``kinds.py``           image kinds (coadd, calexp, difference, template) and their dataset types
``scan.py``            :class:`ScanIndex`, the index of a backend without scoped queries (Gen2)
=====================  ===================================================================

This is the index layer of shared/DESIGN.md: it imports from explorer/errors.py, explorer/sky and
explorer/repo only.
"""
