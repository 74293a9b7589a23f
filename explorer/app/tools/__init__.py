"""Tools of the page, one module per tool: a panel (a :class:`~explorer.app.base.Panel`, registered by
one line in :data:`explorer.app.page.PANELS`) or a layer over the image (registered in
:mod:`explorer.app.overlays`).

Image tools an astronomer expects from DS9, Firefly or jdaviz (issue 16): colour bar and limits,
RA/Dec grid and compass, go to, PSF, ... Catalog tools (issue 17): the catalog table, scatter, sky
density map, HATS catalogs; :mod:`.rows` holds what those share: the current catalog's rows with
their positions on the image, the selection rule, and the marks drawn over the image.
"""
