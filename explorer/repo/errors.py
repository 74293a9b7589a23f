"""The error types, re-exported for the data layer's modules (they live in :mod:`explorer.errors`,
at the package root, so that every layer can import them without importing the data layer)."""
from __future__ import annotations

from ..errors import (BadDataIdError, BadFileError, DatasetNotFoundError, ExplorerError,  # noqa: F401
                      NotARepositoryError, NotOnDiskError, PathNotAllowedError,
                      UnknownDatasetTypeError, UnreachableParentError)
