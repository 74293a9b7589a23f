"""A selector for long option lists: a type-ahead box over a bounded, labelled list.

A tract of a survey has thousands of visits: a dropdown of all of them is slow to send and
useless to scroll. :class:`SearchableSelect` shows a search box (CSS ``<hook>-search``) over a
select (CSS ``<hook>``, e.g. ``w-visit``) that lists at most ``limit`` of the values matching
what is typed, each labelled with its counts by a ``describe`` function (the index's), and a line
(CSS ``<hook>-count``) saying how many matched. The value chosen stays listed whatever is typed.
The state parameter stays the one source of truth: its ``objects`` are the values to offer.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import panel as pn
import param

from ..index import OPTION_LIMIT, Option

log = logging.getLogger(__name__)

#: ``describe(values, search, limit) -> (options, how many values matched)``
Describe = Callable[[Sequence[Any], str, int], tuple[list[Option], int]]


def values_of(objects: Any) -> list[Any]:
    """A Selector's objects (a list, or a {label: value} mapping) as the list of values."""
    return list(objects.values()) if isinstance(objects, dict) else list(objects)


def bounded_options(values: Sequence[Any], current: Any, search: str, describe: Describe,
                    limit: int) -> tuple[dict[str, Any], int]:
    """``{label: value}`` for at most ``limit`` of the values matching ``search`` (plus the current
    value, first, when the search hides it), and how many matched: what the select shows."""
    options, total = describe(values, search, limit)
    options = list(options)[:limit]
    if current is not None and current in values and all(o.value != current for o in options):
        options = list(describe([current], "", 1)[0])[:1] + options
    out: dict[str, Any] = {}
    for opt in options:
        label = opt.label
        while label in out:  # labels must be unique for a select
            label += " "
        out[label] = opt.value
    return out, total


def describe_count(total: int, limit: int, noun: str, search: str = "") -> str:
    """The line under a selector: how many values matched and whether all are listed."""
    more = total > limit
    noun = noun[:-1] if total == 1 and noun.endswith("s") else noun
    if search:
        return f"{total:,} {noun} match “{search}”" + (f": the first {limit:,} listed" if more else "")
    return f"{total:,} {noun}" + (f": the first {limit:,} listed, type to narrow" if more else "")


class TolerantSelect(pn.widgets.Select):
    """A ``Select`` that ignores a value from the browser that is not among its options.

    A cascade changes a select's options and then its value. Where they reach the browser as
    separate messages (a notebook's comm), the browser can send back its old value in between,
    one the new options no longer hold; Panel's ``Select`` raises on it (``ValueError: 48 not in
    list``), the rest of that message is dropped and the page stops following. A stale value
    is dropped here instead and the browser is sent the current one: the next message (the
    cascade's new value) would set it anyway.
    """

    def _offers(self, value: Any) -> bool:
        return value == "" or value in self.unicode_values or value in self.labels

    def _process_property_change(self, props: dict[str, Any]) -> dict[str, Any]:
        if "value" in props and self.values and not self._offers(props["value"]):
            log.debug("%s: ignored the stale value %r from the browser", self.name, props["value"])
            props = {k: v for k, v in props.items() if k != "value"}
            self._resend_value()
        return super()._process_property_change(props)

    def _resend_value(self) -> None:
        """Send the browser the value it should show (after the current message is applied)."""
        try:
            self.param.trigger("value")
        except Exception:  # noqa: BLE001 - the next update corrects the browser anyway
            log.debug("could not resend %s's value", self.name, exc_info=True)


class SearchableSelect(pn.viewable.Viewer):
    """One state parameter chosen among many values (see the module docstring)."""

    noun = param.String(default="values", doc="What is counted, plural (\"visits\")")

    def __init__(self, state: param.Parameterized, name: str, label: str, describe: Describe, css: str,
                 limit: int = OPTION_LIMIT, placeholder: str = "type to search", **params):
        super().__init__(**params)
        self.state, self.parameter, self.describe, self.limit = state, name, describe, limit
        self.search = pn.widgets.TextInput(placeholder=placeholder, css_classes=[f"{css}-search"],
                                           sizing_mode="stretch_width", margin=(0, 10))
        self.select = TolerantSelect(label=label, options={}, css_classes=[css], sizing_mode="stretch_width")
        self.count = pn.pane.HTML("", css_classes=[f"{css}-count"], margin=(0, 10),
                                  styles={"color": "#666", "font-size": "11px"})
        self.total = 0
        self._syncing = False
        self.search.param.watch(self.refresh, "value_input")
        self.select.param.watch(self._picked, "value")
        state.param.watch(self.refresh, [name])
        state.param.watch(self.refresh, [name], what="objects")
        self.refresh()
        self._layout = pn.Column(self.select, self.search, self.count, sizing_mode="stretch_width", margin=0)

    @property
    def values(self) -> list[Any]:
        """Every value the state offers (the select lists a bounded part of them)."""
        return values_of(self.state.param[self.parameter].objects)

    def refresh(self, *_events) -> None:
        """List the values matching the search, bounded, with their labels (never raises: a
        failure shows the plain values)."""
        values, current = self.values, getattr(self.state, self.parameter)
        text = (self.search.value_input if self.search.value_input is not None else self.search.value) or ""
        try:
            options, total = bounded_options(values, current, text, self.describe, self.limit)
        except Exception:  # labels are a nicety: the choice must stay possible
            log.exception("labelling the %s", self.noun)
            matched = [v for v in values if text.strip() in str(v)]
            options = {str(v): v for v in ([current] if current in values and current not in matched[:self.limit]
                                           else []) + matched[:self.limit]}
            total = len(matched)
        self.total = total
        note = describe_count(total, self.limit, self.noun, text.strip())
        busy, self._syncing = self._syncing, True
        try:
            value = current if current in options.values() else None
            if self.select.options != options or self.select.value != value:
                self.select.param.update(options=options, value=value)
            if self.count.object != note:
                self.count.object = note
        finally:
            self._syncing = busy

    def _picked(self, event) -> None:
        if self._syncing or event.new is None or event.new == getattr(self.state, self.parameter):
            return
        if event.new in self.values:
            setattr(self.state, self.parameter, event.new)

    def __panel__(self):
        return self._layout
