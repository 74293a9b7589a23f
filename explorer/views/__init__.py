"""Views: pure functions from data-layer objects (Inventory, Exposure, catalogs, sky regions) to
HoloViews elements, tables and arrays. No widgets and no server: the app (``explorer.app``)
wires them to its state; tests and notebooks can call them directly.

Modules: ``summary`` (the notebook's tables), ``sky`` (tract/patch/footprint polygons),
``raster`` (screen-resolution image rendering with masks), ``stretch`` (zscale/asinh/log),
``colors`` (afw.display mask colours), ``image`` (image elements), ``catalog`` (histograms,
source overlays), ``info`` (WCS/VisitInfo/metadata tables and the pixel readout).
"""
