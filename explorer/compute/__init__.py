"""Catalog computations below the views: histograms, magnitudes and derived columns, scatter and
density aggregation, in-process on pandas/numpy or on Dask over LSDB (HATS) catalogs. Pure
functions of arrays, frames and schemas; no HoloViews, no Panel.

Modules, one job each:

``catalog``     the page's catalog kernels: numba histograms, flag filters, the columns a catalog offers;
``histogram``   numpy-exact histograms of arrays and DataFrames, and their merge across partitions;
``columns``     AB magnitudes from nJy or instFlux columns, derived columns such as ``g - r``;
``density``     scatter points or a datashader density grid, on pandas or Dask DataFrames;
``cluster``     the Dask client (a ``LocalCluster`` on 127.0.0.1 or ``--dask-scheduler ADDR``) and
                a cancellable job over partitions that reports progress;
``hats``        HATS catalogs through LSDB: open with a cone/box filter, histogram and density on
                the cluster, ranges from the catalog's column statistics.
"""
