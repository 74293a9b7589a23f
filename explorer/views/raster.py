"""Moved to :mod:`explorer.render.raster` (rendering sits below the views); this name is kept so
existing imports (benchmarks, notebooks, other tools) keep working. New code imports the new place."""
from ..render.raster import *  # noqa: F401,F403
