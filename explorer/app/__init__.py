"""The explorer page: one small Panel ``Viewer`` per panel over the shared
:class:`~explorer.state.ExplorerState`, composed by :mod:`explorer.app.page`.

Modules: ``page`` (the composition, the panel registry, serving), ``controls`` (sidebar),
``summary``, ``skymap``, ``image``, ``histogram``, ``info`` (the panels), ``alerts`` (the error
banner), ``base`` (the panel base class and its error boundary), ``style``, ``extensions``,
``warmup``. The names people import from ``explorer.app`` are re-exported here.
"""
from ..state import (ENV_REPO, ENV_ROOTS, IMAGE_KINDS, PLANES, ExplorerState, default_repository,  # noqa: F401
                     env_repo_roots, forget_repositories, get_index, get_repository)
from .extensions import _ensure_extensions, ensure_extensions  # noqa: F401
from .page import PANELS, Explorer, PanelSpec, create_app, query_from_session  # noqa: F401
from .warmup import warm_up  # noqa: F401

__all__ = ["Explorer", "ExplorerState", "create_app", "warm_up", "PANELS", "PanelSpec", "ensure_extensions",
           "forget_repositories", "get_index", "get_repository", "default_repository", "env_repo_roots",
           "ENV_REPO", "ENV_ROOTS", "IMAGE_KINDS", "PLANES"]
