"""Computations on catalog columns, below the views: histogram kernels (numba), flag filters, the
columns a catalog offers. Pure functions of arrays and schemas; no HoloViews, no Panel."""
