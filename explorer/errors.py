"""The error types of every layer (imports nothing of ours, so any layer may import it).

Every problem a user can cause (a wrong path, a dataset type that does not exist, a corrupt
file, a dataset that is registered but whose file is gone) is raised as a subclass of
:class:`ExplorerError` with a one-line message that names the problem. The CLI turns these into
exit status 2 and the app into a notification; anything else is a bug.
"""
from __future__ import annotations


class ExplorerError(Exception):
    """Base class: a problem with the user's input or data, with a message fit to show them."""


class NotARepositoryError(ExplorerError):
    """The path does not exist or holds neither a Gen3 nor a Gen2 repository."""


class UnknownDatasetTypeError(ExplorerError):
    """The dataset type is not registered in (or has no template for) the repository."""


class BadDataIdError(ExplorerError):
    """The data ID names keys the dataset type does not have, or values that match nothing."""


class DatasetNotFoundError(ExplorerError):
    """No dataset of that type and data ID is registered in the collections searched."""


class NotOnDiskError(ExplorerError):
    """The dataset is registered but its file is absent: metadata is not data."""


class BadFileError(ExplorerError):
    """A file exists but cannot be read as what it claims to be (corrupt, truncated, wrong format)."""


class UnreachableParentError(ExplorerError):
    """A Gen2 repository names a parent repository that does not exist on this machine."""


class PathNotAllowedError(ExplorerError):
    """A repository path lies outside the directories the server was confined to."""
