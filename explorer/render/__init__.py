"""Rendering: from pixel planes to what a screen shows, without any UI.

``raster`` (screen-resolution frames with masks), ``stretch`` (zscale/linear/asinh/log and the
shared, bounded cache of per-plane limits), ``colors`` (afw.display mask colours), ``pixel`` (the
one rule that maps a parent-pixel position to a pixel). Below the views; above the data layer.
"""
