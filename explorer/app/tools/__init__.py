"""Catalog tools of the page (issue 17): the catalog table, scatter, sky density map, HATS catalogs.

Each module holds one panel (a :class:`~explorer.app.base.Panel`), registered by one line in
:data:`explorer.app.page.PANELS`; :mod:`.rows` holds what they share: the current catalog's rows
with their positions on the image, the selection rule, and the marks drawn over the image.
"""
