"""The sandbox message templates run in.

`ImmutableSandboxedEnvironment` already refuses private attributes and
mutating methods. It does not bound sizes: a single expression such as
`"x" * 10**9` builds a gigabyte before any output cap can look at it. This
environment refuses the operations that multiply a string or number past the
output cap before they run, so the renderer's streaming cap is the only size
limit left to enforce. Values built by joining (`~`, `+`, a `{% set %}` block, a
macro's output) are checked against the same cap.

Nor does it bound time: every `for` loop step and every call is a step of the
render's budget (`templates/budget.py`); `lipsum`, which builds text in Python
with no step to count, is not offered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sized
from typing import Any, cast

from jinja2 import BaseLoader, StrictUndefined, nodes
from jinja2.filters import (
    do_batch,
    do_center,
    do_format,
    do_indent,
    do_join,
    do_replace,
    sync_do_slice,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_eval_context
from jinja2.visitor import NodeTransformer

from groundcontrol.templates.budget import counted, tick
from groundcontrol.templates.filters import FILTERS

# Filters the parser wraps around every loop's items and every `~` join.
_COUNTED, _SIZED = "_gc_counted", "_gc_sized"

# A printf width (`%999999s`) or a str.format width (`{:>999999}`).
_WIDTH = re.compile(r"%[-#0 +]*(\d+)|\{[^{}]*:[^{}]*?(\d+)[^{}]*\}")
_MAX_POWER_BITS = 4096
_WIDENING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class OutputTooLarge(ValueError):
    """A template operation would build a value larger than the output cap."""


class MessageSandbox(ImmutableSandboxedEnvironment):
    """Sandbox with strict undefined, trimmed blocks, locale filters and size guards."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(
        self, loader: BaseLoader, *, max_output_chars: int, autoescape: Any = False
    ) -> None:
        super().__init__(
            loader=loader,
            undefined=StrictUndefined,
            autoescape=autoescape,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=True,
        )
        self.max_output_chars = max_output_chars
        self.filters.update(FILTERS)
        self.filters.update(_guarded_filters(self))
        self.filters.update({_COUNTED: counted, _SIZED: self._sized})
        self.globals.pop("lipsum", None)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Parse, then route every loop's items through `counted` and every `~` through
        a size check: the compiled template steps its budget on its own."""
        tree = super()._parse(source, name, filename)
        return cast(nodes.Template, _Budgeted().visit(tree))

    def concat(self, parts: Iterable[str]) -> str:
        """The output of a block, macro or `{% set %}` block, within the cap."""
        collected = list(parts)
        self.check_size(sum(len(part) for part in collected))
        return "".join(collected)

    def _sized(self, value: Any) -> Any:
        if isinstance(value, Sized):
            self.check_size(len(value))
        return value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            self._check_repeat(left, right)
            self._check_repeat(right, left)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            self.check_widths(left)
        elif operator == "+" and isinstance(left, Sized) and isinstance(right, Sized):
            self.check_size(len(left) + len(right))
        return super().call_binop(context, operator, left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        tick()
        method = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            if method.__name__ == "join" and args:
                args = (list(args[0]), *args[1:])  # a generator has no length to check
            self._check_str_method(owner, method.__name__, args, kwargs)
        return super().call(context, obj, *args, **kwargs)

    def check_size(self, size: int) -> None:
        if size > self.max_output_chars:
            raise OutputTooLarge(
                f"this would build {size} characters; the cap is {self.max_output_chars}"
            )

    def check_widths(self, spec: str) -> None:
        for match in _WIDTH.finditer(spec):
            self.check_size(int(match.group(1) or match.group(2)))

    def _check_repeat(self, sequence: Any, times: Any) -> None:
        if isinstance(sequence, str | list | tuple) and isinstance(times, int):
            self.check_size(len(sequence) * times)

    def _check_str_method(
        self, owner: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        values = [*args, *kwargs.values()]
        if name in _WIDENING_METHODS:
            self.check_size(max([len(owner), *(v for v in values if isinstance(v, int))]))
        elif name == "replace" and len(args) >= 2:
            self.check_size(_replaced_size(owner, str(args[0]), str(args[1])))
        elif name == "join" and args:
            self.check_size(_joined_size(owner, args[0]))
        elif name in {"format", "format_map"}:
            self.check_widths(owner)


class _Budgeted(NodeTransformer):
    """Wraps each loop's items in `counted` and each `~` join in a size check."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _filtered(node.iter, _COUNTED)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filtered(node, _SIZED)


def _filtered(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(cast(nodes.Expr, node), name, [], [], None, None, lineno=node.lineno)


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return
    if exponent > 0 and abs(base).bit_length() * exponent > _MAX_POWER_BITS:
        raise OutputTooLarge(f"{base} ** {exponent} is too large for a message")


def _replaced_size(text: str, old: str, new: str) -> int:
    if not old:
        return len(text) + (len(text) + 1) * len(new)
    return len(text) + text.count(old) * (len(new) - len(old))


def _joined_size(separator: str, items: Any) -> int:
    count = len(items) if isinstance(items, Sized) else 0
    return max(count - 1, 0) * len(separator)


def _guarded_filters(env: MessageSandbox) -> dict[str, Callable[..., Any]]:
    """The built-in filters that can widen a string, each checking the size first."""

    def center(value: Any, width: int = 80) -> str:
        env.check_size(width)
        return do_center(value, width)

    def indent(value: Any, width: int | str = 4, *args: Any, **kwargs: Any) -> str:
        lines = str(value).count("\n") + 1
        pad = width if isinstance(width, int) else len(width)
        env.check_size(len(str(value)) + lines * pad)
        return do_indent(value, width, *args, **kwargs)

    @pass_eval_context
    def replace(eval_ctx: Any, value: Any, old: Any, new: Any, count: int | None = None) -> str:
        env.check_size(_replaced_size(str(value), str(old), str(new)))
        return do_replace(eval_ctx, value, old, new, count)

    @pass_eval_context
    def join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
        items = list(value)
        env.check_size(_joined_size(str(d), items))
        return cast(str, do_join(eval_ctx, items, d, attribute))

    def format_(value: Any, *args: Any, **kwargs: Any) -> str:
        env.check_widths(str(value))
        return do_format(value, *args, **kwargs)

    def slice_(value: Any, slices: int, fill_with: Any = None) -> Iterable[list[Any]]:
        return counted(sync_do_slice(value, slices, fill_with))

    def batch(value: Any, linecount: int, fill_with: Any = None) -> Iterable[list[Any]]:
        env.check_size(linecount)
        return counted(do_batch(value, linecount, fill_with))

    return {
        "center": center,
        "indent": indent,
        "replace": replace,
        "join": join,
        "format": format_,
        "slice": slice_,
        "batch": batch,
    }
