"""A typed name for one dataset: :class:`DatasetKey` (dataset type + data ID).

The state names what the image and the histogram show by such keys. They are frozen and
hashable (a data ID is kept as a sorted tuple of pairs), so they compare, memoise and go in sets
without the ``tuple(sorted(d.items()))`` dance; :attr:`DatasetKey.data_id` gives the dict back.
For code written against the former ``(dataset_type, data_id)`` tuples, a key also unpacks and
indexes like one (``dataset_type, data_id = key``; ``key[1]["visit"]``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional


@dataclass(frozen=True)
class DatasetKey:
    """One dataset: its type and its data ID (a sorted tuple of (key, value) pairs)."""

    dataset_type: str
    data_id_items: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, dataset_type: str, data_id: Mapping[str, Any]) -> "DatasetKey":
        """The key of a dataset type and a data ID given as a mapping."""
        return cls(str(dataset_type), tuple(sorted((str(k), v) for k, v in data_id.items())))

    @classmethod
    def maybe(cls, dataset_type: Optional[str], data_id: Optional[Mapping[str, Any]]) -> Optional["DatasetKey"]:
        """The key, or None when either part is missing."""
        if not dataset_type or not data_id:
            return None
        return cls.of(dataset_type, data_id)

    @property
    def data_id(self) -> dict[str, Any]:
        """The data ID as a new dict (safe to modify)."""
        return dict(self.data_id_items)

    def get(self, key: str, default: Any = None) -> Any:
        """One value of the data ID."""
        return dict(self.data_id_items).get(key, default)

    # ----- the former tuple's interface ------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        yield self.dataset_type
        yield self.data_id

    def __getitem__(self, index: int) -> Any:
        return (self.dataset_type, self.data_id)[index]

    def __len__(self) -> int:
        return 2

    def __str__(self) -> str:
        return f"{self.dataset_type} " + ", ".join(f"{k}={v}" for k, v in self.data_id_items)
