"""Views: functions from data (an Inventory, an Exposure, sky regions, histogram bins) to
HoloViews elements and tables. No widgets, no server, no state: the page (``explorer.app``) binds
them to the state; tests and notebooks call them directly.

Modules: ``summary`` (the notebook's tables), ``sky`` (tract/patch/footprint polygons), ``image``
(image and source elements), ``catalog`` (the histogram element), ``info`` (WCS/VisitInfo/metadata
tables and the pixel readout). Rendering moved to :mod:`explorer.render` and catalog computations
to :mod:`explorer.compute` (``raster``, ``stretch``, ``colors`` here re-export them for old
imports); ``selection`` (the repository index) is to move below the views as well.
"""
