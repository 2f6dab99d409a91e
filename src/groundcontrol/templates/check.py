"""Find every problem in a set of templates before a customer would: `groundcontrol check`.

Problems are readable one-liners that start with the template file and line.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, cast

import jinja2

from groundcontrol.domain import CHANNELS, ChannelName
from groundcontrol.errors import ConfigError, TemplateError
from groundcontrol.planning.journeys import Journeys
from groundcontrol.templates.context import Sample, load_sample
from groundcontrol.templates.generated_sample import generated_sample

if TYPE_CHECKING:
    from groundcontrol.templates.renderer import Renderer

Catalogue = dict[str, dict[ChannelName, list[str]]]
_FILE = re.compile(
    rf"^(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<channel>{'|'.join(CHANNELS)})"
    r"(?:\.(?P<locale>[A-Za-z0-9_-]+))?\.j2$"
)


def list_templates(loader_or_dir: jinja2.BaseLoader | Path) -> Catalogue:
    """Message templates by name, then channel, then locale ("" for the default file)."""
    loader = _as_loader(loader_or_dir)
    return _catalogue(loader.list_templates())


def check_templates(renderer: Renderer, journeys: Journeys, samples_dir: Path) -> list[str]:
    """Every problem found: syntax errors, journeys naming a missing template,
    and templates that fail to render any sample case (a sample generated from the
    templates when `samples_dir` holds none)."""
    try:
        files = [f for f in renderer.loader.list_templates() if f.endswith(".j2")]
    except TypeError:
        return ["the template loader cannot list its templates, so they cannot be checked"]
    if not files:
        return ["no templates found"]
    problems, broken = _syntax_problems(renderer, files)
    catalogue = _catalogue(files)
    problems += journey_problems(journeys, catalogue)
    samples, sample_problems = _load_samples(samples_dir)
    if not samples and not sample_problems:
        samples = [generated_sample(jinja2.Environment(loader=renderer.loader), files)]
    problems += sample_problems
    return problems + _render_problems(renderer, catalogue, samples, broken, set(problems))


def journey_problems(journeys: Journeys, catalogue: Catalogue) -> list[str]:
    problems = []
    for rule in journeys.rules.values():
        names = [rule.template] + ([rule.follow_up.template] if rule.follow_up else [])
        for name in names:
            if name not in catalogue:
                problems.append(
                    f"journey rule for status {rule.status!r} names template {name!r}, "
                    f"which does not exist for any channel (no {name}/<channel>.j2)"
                )
    return problems


def _as_loader(loader_or_dir: jinja2.BaseLoader | Path) -> jinja2.BaseLoader:
    if isinstance(loader_or_dir, jinja2.BaseLoader):
        return loader_or_dir
    return jinja2.FileSystemLoader(loader_or_dir)


def _catalogue(files: list[str]) -> Catalogue:
    catalogue: Catalogue = {}
    for file in sorted(files):
        match = _FILE.match(file)
        if match:
            channel = cast(ChannelName, match["channel"])
            by_channel = catalogue.setdefault(match["name"], {})
            by_channel.setdefault(channel, []).append(match["locale"] or "")
    return catalogue


def _syntax_problems(renderer: Renderer, files: list[str]) -> tuple[list[str], set[str]]:
    problems, broken = [], set()
    for file in sorted(files):
        try:
            renderer.compile(file)
        except TemplateError as exc:
            problems.append(str(exc))
            broken.add(file)
    return problems, broken


def _load_samples(samples_dir: Path) -> tuple[list[Sample], list[str]]:
    paths = sorted(samples_dir.glob("*.json")) if samples_dir.is_dir() else []
    samples, problems = [], []
    for path in paths:
        try:
            samples.append(load_sample(path))
        except ConfigError as exc:
            problems.append(str(exc))
    return samples, problems


def _render_problems(
    renderer: Renderer,
    catalogue: Catalogue,
    samples: list[Sample],
    broken: set[str],
    known: set[str],
) -> list[str]:
    failures: dict[str, list[str]] = defaultdict(list)
    for name, channels in catalogue.items():
        for channel, locales in channels.items():
            for locale in locales:
                file = f"{name}/{channel}{'.' + locale if locale else ''}.j2"
                if file in broken:
                    continue
                for sample in samples:
                    error = _render_error(renderer, name, channel, locale, sample)
                    if error and error not in known:
                        failures[error].append(sample.name)
    return [_with_samples(error, names) for error, names in failures.items()]


def _with_samples(error: str, names: list[str]) -> str:
    # A broken shared layout fails every sample the same way: say it once.
    return f"{error} (sample {', '.join(dict.fromkeys(names))})"


def _render_error(
    renderer: Renderer, name: str, channel: ChannelName, locale: str, sample: Sample
) -> str | None:
    try:
        renderer.render(
            name, channel, locale or None, sample.context(locale or renderer.default_locale)
        )
    except TemplateError as exc:
        return str(exc)
    return None
