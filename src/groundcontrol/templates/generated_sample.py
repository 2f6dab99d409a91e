"""A sample made up from the templates themselves, for `groundcontrol check` on a folder
without `_samples/`: every `case.data.X` / `event.data.X` a template reads gets a value,
so what is left to fail is syntax and names that exist nowhere (a typo)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jinja2
from jinja2 import nodes

from groundcontrol.templates.context import Sample, sample_from_mapping

GENERATED = "generated"
_DATA_OWNERS = ("case", "event")
EXAMPLE_VALUE = "2026-11-25"


def generated_sample(env: jinja2.Environment, files: Iterable[str]) -> Sample:
    """A sample whose case and event data hold every key the templates read."""
    keys: dict[str, set[str]] = {owner: set() for owner in _DATA_OWNERS}
    for file in files:
        try:
            source, _, _ = env.loader.get_source(env, file)  # type: ignore[union-attr]
            tree = env.parse(source)
        except jinja2.TemplateError:
            continue  # the syntax check reports it
        for owner, key in _data_keys(tree):
            keys[owner].add(key)
    return sample_from_mapping(GENERATED, _mapping(keys))


def _data_keys(tree: nodes.Template) -> Iterable[tuple[str, str]]:
    """(owner, key) for each `owner.data.key` or `owner.data["key"]` in the tree."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        key = _key(node)
        inner = node.node
        if key is None or not isinstance(inner, nodes.Getattr) or inner.attr != "data":
            continue
        if isinstance(inner.node, nodes.Name) and inner.node.name in _DATA_OWNERS:
            yield inner.node.name, key


def _key(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return str(node.arg.value)
    return None


def _mapping(keys: dict[str, set[str]]) -> dict[str, Any]:
    def data(owner: str) -> dict[str, str]:
        # An ISO date reads as text and passes the date filters: the value's shape is
        # unknown, and a check needs every filter to accept it, not a pretty preview.
        return {key: EXAMPLE_VALUE for key in sorted(keys[owner])}

    return {
        "customer": {
            "id": "cust-example",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "+31612345678",
            "locale": "en",
            "timezone": "Europe/Amsterdam",
            "channels": ["email", "sms", "chat"],
        },
        "case": {
            "id": "C-EXAMPLE",
            "status": "received",
            "previous_status": None,
            "data": data("case"),
        },
        "event": {
            "id": "evt-example",
            "status": "received",
            "occurred_at": "2026-11-22T10:00:00+00:00",
            "priority": "normal",
            "data": data("event"),
        },
        "now": "2026-11-22T10:00:00+00:00",
        "unsubscribe_url": "https://example.com/unsubscribe/example",
    }
