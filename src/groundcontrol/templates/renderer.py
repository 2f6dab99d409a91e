"""Sandboxed rendering of message templates.

Files are `<name>/<channel>[.<locale>].j2` under the templates folder; the
locale falls back `fr-CA` -> `fr` -> no locale. Every name is looked up
through the injected loader, so store-held overrides can sit in front of the
files. Email templates define the blocks `subject`, `text` and optionally
`html`, each rendered on its own (`html` autoescaped, the others not); SMS and
chat templates render whole. Every failure surfaces as `TemplateError` (or
`TemplateNotFound`) naming the template file and line, the jinja2 error kept
as `__cause__`.
"""

from __future__ import annotations

import asyncio
import re
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context

from groundcontrol.domain import ChannelName, RenderedMessage
from groundcontrol.errors import TemplateError, TemplateNotFound
from groundcontrol.templates.budget import budget
from groundcontrol.templates.context import build_context
from groundcontrol.templates.sandbox import MessageSandbox

__all__ = [
    "Renderer",
    "build_context",
    "locale_chain",
    "normalise_locale",
    "template_file",
]

_LOCALE = re.compile(r"^([A-Za-z]{2,3})((?:[-_][A-Za-z0-9]{2,8})*)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_BLANK_LINES = re.compile(r"\n{3,}")
BlockFunction = Callable[[Context], Iterator[str]]
T = TypeVar("T")


def normalise_locale(value: str | None) -> str | None:
    """`fr_ca` -> `fr-CA`, `NL` -> `nl`; None for an absent or malformed tag."""
    match = _LOCALE.match(value or "")
    if not match:
        return None
    language, rest = match.group(1).lower(), match.group(2)
    subtags = [part for part in re.split(r"[-_]", rest) if part]
    return "-".join([language, *(_subtag_case(part) for part in subtags)])


def _subtag_case(part: str) -> str:
    if len(part) == 2 or (len(part) == 3 and part.isdigit()):
        return part.upper()  # region
    return part.title() if len(part) == 4 else part.lower()  # script, variant


def locale_chain(locale: str | None) -> list[str]:
    """`fr-CA` -> [`fr-CA`, `fr`]: the locale and every shorter prefix of it."""
    tag = normalise_locale(locale)
    if tag is None:
        return []
    parts = tag.split("-")
    return ["-".join(parts[:end]) for end in range(len(parts), 0, -1)]


def template_file(name: str, channel: ChannelName, locale: str = "") -> str:
    """The loader name of one template file: `case_received/sms.nl.j2`."""
    suffix = f".{locale}" if locale else ""
    return f"{name}/{channel}{suffix}.j2"


@dataclass(frozen=True)
class Resolved:
    """The template file chosen for a render, and the locale its words are in."""

    file: str
    locale: str  # "" for the default file


class Renderer:
    """Renders message templates from one loader in a size-capped sandbox, each render
    within a budget of steps and seconds (`templates/budget.py`)."""

    def __init__(
        self,
        loader: jinja2.BaseLoader,
        *,
        max_output_chars: int = 100_000,
        default_locale: str = "en",
        max_steps: int = 200_000,
        max_seconds: float = 1.0,
        worker: ThreadPoolExecutor | None = None,
    ) -> None:
        self.loader = loader
        self.max_output_chars = max_output_chars
        self.default_locale = normalise_locale(default_locale) or "en"
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        # One thread: renders are CPU-bound Python, so more threads would only share the
        # GIL, and one keeps renders in the order they were asked for. A slow render
        # holds the others back by at most its budget.
        self._worker = worker or ThreadPoolExecutor(1, thread_name_prefix="render")
        self._text_env = MessageSandbox(
            loader, max_output_chars=max_output_chars, autoescape=_is_html_name
        )
        self._html_env = MessageSandbox(loader, max_output_chars=max_output_chars, autoescape=True)
        self._parents: WeakKeyDictionary[jinja2.Template, str | None] = WeakKeyDictionary()
        # Which file serves (template, channel, locale): jinja2 caches what it loaded but
        # not what it failed to find, so without this every render of a Dutch customer
        # would first try, and fail, to open the nl-NL files again.
        self._resolved: dict[tuple[str, str, str | None], Resolved] = {}

    @classmethod
    def from_directory(cls, path: Path, **kwargs: Any) -> Renderer:
        return cls(jinja2.FileSystemLoader(path), **kwargs)

    def with_loader(self, loader: jinja2.BaseLoader) -> Renderer:
        """A renderer with this one's limits and worker over another loader (a draft)."""
        return Renderer(
            loader,
            max_output_chars=self.max_output_chars,
            default_locale=self.default_locale,
            max_steps=self.max_steps,
            max_seconds=self.max_seconds,
            worker=self._worker,
        )

    async def off_loop(self, work: Callable[..., T], /, *args: Any) -> T:
        """`work(*args)` (which renders) on the render worker thread, every render in it
        sharing one budget: the event loop keeps answering meanwhile, and the work ends
        itself when the budget is spent."""
        return await asyncio.get_running_loop().run_in_executor(
            self._worker, partial(self._budgeted, work, *args)
        )

    def _budgeted(self, work: Callable[..., T], /, *args: Any) -> T:
        with budget(self.max_steps, self.max_seconds):
            return work(*args)

    async def render_async(
        self, template: str, channel: ChannelName, locale: str | None, context: Mapping[str, Any]
    ) -> RenderedMessage:
        """`render` on a worker thread."""
        return await self.off_loop(self.render, template, channel, locale, context)

    def clear_cache(self) -> None:
        """Forget compiled templates, e.g. after a store-held override changed."""
        for env in (self._text_env, self._html_env):
            if env.cache is not None:
                env.cache.clear()
        self._parents.clear()
        self._resolved.clear()

    def resolve(self, template: str, channel: ChannelName, locale: str | None) -> Resolved:
        """The file a render would use; `TemplateNotFound` when there is none."""
        key = (template, channel, locale)
        if key not in self._resolved:
            self._resolved[key] = self._search(template, channel, locale)
        return self._resolved[key]

    def _search(self, template: str, channel: ChannelName, locale: str | None) -> Resolved:
        if not _NAME.match(template):
            raise TemplateNotFound(f"{template!r} is not a template name")
        return self._first_file(f"{template}/{channel}", locale, f"{template!r} for {channel}")

    def _first_file(self, stem: str, locale: str | None, what: str) -> Resolved:
        tried: list[str] = []
        for candidate in self._candidates(locale):
            file = f"{stem}.{candidate}.j2" if candidate else f"{stem}.j2"
            tried.append(file)
            if self._exists(file):
                return Resolved(file=file, locale=candidate)
        raise TemplateNotFound(f"no template {what}: tried {', '.join(tried)}")

    def resolve_words(self, stem: str, locale: str | None) -> Resolved:
        """The file of a words template outside the message catalogue (`_page/page` ->
        `_page/page.nl.j2`), with the same locale fallback as messages."""
        key = (stem, "words", locale)
        if key not in self._resolved:
            self._resolved[key] = self._first_file(stem, locale, repr(stem))
        return self._resolved[key]

    def render_words(
        self, resolved: Resolved, block: str, locale: str | None, context: Mapping[str, Any]
    ) -> str:
        """One block of a words template as text on one line (the page escapes it);
        "" when the file does not define the block."""
        variables = {**context, "locale": self._words_locale(resolved, locale)}
        text = self._render_block(self._text_env, resolved.file, block, variables)
        return " ".join((text or "").split())

    def render(
        self,
        template: str,
        channel: ChannelName,
        locale: str | None,
        context: Mapping[str, Any],
    ) -> RenderedMessage:
        """Render `template` for `channel` in the best locale for `locale`; over its
        budget of steps or seconds it fails as a `TemplateError` saying so."""
        resolved = self.resolve(template, channel, locale)
        variables = {**context, "locale": self._words_locale(resolved, locale)}
        with budget(self.max_steps, self.max_seconds):
            if channel == "email":
                return self._render_email(resolved.file, variables)
            text = _tidy_text(self._render_whole(resolved.file, variables))
        _require(text, resolved.file, "rendered no text")
        return RenderedMessage(text=text)

    def compile(self, file: str) -> None:
        """Load and compile one template file, raising `TemplateError` on a syntax error."""
        self._load(self._text_env, file)

    def _candidates(self, locale: str | None) -> list[str]:
        ordered = [*locale_chain(locale), "", *locale_chain(self.default_locale)]
        return list(dict.fromkeys(ordered))

    def _words_locale(self, resolved: Resolved, requested: str | None) -> str:
        # Dates read in the language of the words around them: a customer asking
        # for fr-CA who gets the default English file gets English dates.
        wanted = normalise_locale(requested)
        if resolved.locale and wanted and wanted.startswith(resolved.locale):
            return wanted
        return resolved.locale or self.default_locale

    def _render_email(self, file: str, variables: dict[str, Any]) -> RenderedMessage:
        subject = self._render_block(self._text_env, file, "subject", variables)
        text = self._render_block(self._text_env, file, "text", variables)
        html = self._render_block(self._html_env, file, "html", variables)
        if subject is None or text is None:
            missing = "subject" if subject is None else "text"
            raise TemplateError(f"{file}: an email template needs a {{% block {missing} %}}")
        subject, text = " ".join(subject.split()), _tidy_text(text)
        _require(subject, file, "rendered an empty subject")
        _require(text, file, "rendered no text")
        return RenderedMessage(text=text, subject=subject, html=(html or "").strip() or None)

    def _render_whole(self, file: str, variables: dict[str, Any]) -> str:
        template = self._load(self._text_env, file)
        return self._collect(
            file, lambda: template.root_render_func(template.new_context(variables))
        )

    def _render_block(
        self, env: MessageSandbox, file: str, block: str, variables: dict[str, Any]
    ) -> str | None:
        template = self._load(env, file)
        context = template.new_context(variables)
        context.blocks = self._block_stacks(env, template)
        functions = context.blocks.get(block)
        if not functions:
            return None
        return self._collect(file, lambda: functions[0](context))

    def _block_stacks(
        self, env: MessageSandbox, template: jinja2.Template
    ) -> dict[str, list[BlockFunction]]:
        """The block stacks of `template` and its `{% extends %}` chain, child first,
        as jinja2 builds them while rendering the whole file."""
        stacks = {name: [function] for name, function in template.blocks.items()}
        seen = {template.name}
        parent_name = self._parent_of(env, template)
        while parent_name is not None:
            if parent_name in seen:
                raise TemplateError(f"{template.name}: {parent_name} extends itself in a loop")
            seen.add(parent_name)
            parent = self._load(env, parent_name, referenced_by=template.name)
            for name, function in parent.blocks.items():
                stacks.setdefault(name, []).append(function)
            parent_name = self._parent_of(env, parent)
        return stacks

    def _parent_of(self, env: MessageSandbox, template: jinja2.Template) -> str | None:
        if template not in self._parents:
            self._parents[template] = self._find_extends(env, template)
        return self._parents[template]

    def _find_extends(self, env: MessageSandbox, template: jinja2.Template) -> str | None:
        name = template.name or "<template>"
        try:
            source, _, _ = self.loader.get_source(env, name)
            extends = env.parse(source, name).find(nodes.Extends)
        except jinja2.TemplateError as exc:
            raise _translate(exc, name) from exc
        if extends is None:
            return None
        if not isinstance(extends.template, nodes.Const):
            raise TemplateError(f"{name}:{extends.lineno}: extends must name its layout literally")
        return str(extends.template.value)

    def _exists(self, file: str) -> bool:
        try:
            self._text_env.get_template(file)
        except jinja2.TemplateNotFound as exc:
            if exc.name == file:
                return False
            raise _translate(exc, file) from exc
        except (jinja2.TemplateError, OSError, UnicodeDecodeError) as exc:
            raise _translate(exc, file) from exc
        return True

    def _load(
        self, env: MessageSandbox, file: str, referenced_by: str | None = None
    ) -> jinja2.Template:
        try:
            return env.get_template(file)
        except jinja2.TemplateNotFound as exc:
            # A missing layout is a bug in the template that names it, not a missing message.
            if referenced_by:
                raise TemplateError(f"{referenced_by}: template {exc.name} does not exist") from exc
            raise TemplateNotFound(f"template {exc.name} does not exist") from exc
        except (jinja2.TemplateError, OSError, UnicodeDecodeError) as exc:
            raise _translate(exc, file) from exc

    def _collect(self, file: str, chunks: Callable[[], Iterator[str]]) -> str:
        """Join a render's output, stopping as soon as it passes the cap."""
        parts: list[str] = []
        size = 0
        try:
            stream = chunks()
            for part in stream:
                size += len(part)
                if size > self.max_output_chars:
                    _close(stream)
                    raise TemplateError(
                        f"{file}: output exceeds the cap of {self.max_output_chars} characters"
                    )
                parts.append(part)
        except TemplateError:
            raise
        except Exception as exc:
            # Template code can raise anything (UndefinedError, SecurityError,
            # TypeError from `1 + "a"`): the dispatcher only ever sees TemplateError.
            raise _translate(exc, file) from exc
        return "".join(parts)


def _is_html_name(name: str | None) -> bool:
    return name is not None and name.endswith((".html", ".html.j2", ".htm"))


def _translate(exc: BaseException, file: str) -> TemplateError:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = f"{exc.name or file}:{exc.lineno}"
        return TemplateError(f"{where}: syntax error: {exc.message}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return TemplateError(f"{_location(exc, file)}: template {exc.name} does not exist")
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, jinja2.UndefinedError):
        detail = f"undefined variable: {detail}"
    elif isinstance(exc, jinja2.exceptions.SecurityError):
        detail = f"not allowed in a template: {detail}"
    return TemplateError(f"{_location(exc, file)}: {detail}")


def _location(exc: BaseException, file: str) -> str:
    """`file:line` of the innermost template frame the error passed through."""
    where = file
    for frame, line in traceback.walk_tb(exc.__traceback__):
        template = frame.f_globals.get("__jinja_template__")
        if isinstance(template, jinja2.Template):
            where = f"{template.name or file}:{template.get_corresponding_lineno(line)}"
    return where


def _close(stream: Iterator[str]) -> None:
    close = getattr(stream, "close", None)  # a generator: stop it where it is
    if close is not None:
        close()


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines))


def _require(value: str, file: str, problem: str) -> None:
    if not value:
        raise TemplateError(f"{file}: {problem}")
