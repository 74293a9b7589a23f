"""Rendering kernels below the views: rasters, stretches, colours, display limits, RGB composites."""
