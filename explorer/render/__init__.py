"""Rendering: from pixel planes to what a screen shows, without any UI. Below the views; above the
data layer.

``raster`` (screen-resolution frames with masks), ``stretch`` (zscale/linear/asinh/log and the
shared, bounded cache of per-plane limits), ``limits`` (display limits: percentile presets, zscale
contrast, manual), ``colors`` (afw.display mask colours), ``rgb`` (Lupton et al. 2004 composites),
``pixel`` (the one rule that maps a parent-pixel position to a pixel).
"""
