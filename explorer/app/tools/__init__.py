"""Tools of the page (one module per tool panel, registered in :data:`explorer.app.page.PANELS`)."""
