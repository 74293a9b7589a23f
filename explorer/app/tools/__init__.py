"""Image tools an astronomer expects from DS9, Firefly or jdaviz: one module per tool (a panel of the
page, or a layer over the image registered in :mod:`explorer.app.overlays`)."""
