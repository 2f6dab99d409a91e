"""The `groundcontrol` command: serve, check, render, simulate and export-events.

Exit codes: 0 ok, 1 a problem was found (the message says which), 2 wrong usage.
A user never sees a traceback for a problem the command can describe.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from groundcontrol import logs
from groundcontrol.casepage.words import words_problems
from groundcontrol.domain import CHANNELS, ChannelName, RenderedMessage
from groundcontrol.errors import GroundControlError
from groundcontrol.planning.journeys import Journeys, load_journeys
from groundcontrol.planning.promises import cadence_problems
from groundcontrol.settings import DEFAULT_CONFIG, Settings, load_settings
from groundcontrol.simulation.command import add_commands as add_simulation_commands
from groundcontrol.subscriptions.transports import transport_for
from groundcontrol.templates.check import check_templates, list_templates
from groundcontrol.templates.context import Sample, load_sample, load_samples
from groundcontrol.templates.renderer import Renderer

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: `sys.argv[1:]`) and return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help (0) and on bad usage (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        code = int(args.command(args))
        sys.stdout.flush()  # a closed pipe fails here, where it is caught, not at exit
        return code
    except GroundControlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except BrokenPipeError:
        return _reader_went_away()


def _reader_went_away() -> int:
    """`groundcontrol render ... | head`: the reader stopped reading, which is fine.
    Point stdout at /dev/null so flushing it at exit cannot raise a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groundcontrol",
        description="Proactive customer notifications for back-office cases.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the service")
    serve.set_defaults(command=run_serve)

    check = commands.add_parser("check", help="validate config, journeys and every template")
    check.set_defaults(command=run_check)

    render = commands.add_parser("render", help="print a rendered preview of a template")
    render.add_argument("template", metavar="TEMPLATE", help="template name, e.g. case_received")
    render.add_argument("--channel", required=True, choices=CHANNELS)
    render.add_argument("--locale", help="e.g. nl or fr-CA (default: the default template)")
    render.add_argument("--data", type=Path, help="JSON case data shaped like the samples")
    render.set_defaults(command=run_render)

    simulation = add_simulation_commands(commands)
    for command in (serve, check, render, *_template_commands(commands), *simulation):
        command.add_argument("--config", type=Path, help="config file (TOML)")
    return parser


def _template_commands(commands: Any) -> list[argparse.ArgumentParser]:
    templates = commands.add_parser(
        "templates", help="move studio-published templates to and from files"
    )
    actions = templates.add_subparsers(title="actions", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export", help="write the effective templates (files + published) to DIR"
    )
    export.add_argument("directory", metavar="DIR", type=Path)
    export.set_defaults(command=run_templates_export)
    import_ = actions.add_parser("import", help="publish the changed message templates in DIR")
    import_.add_argument("directory", metavar="DIR", type=Path)
    import_.set_defaults(command=run_templates_import)
    return [export, import_]


def run_templates_export(args: argparse.Namespace) -> int:
    transfer = importlib.import_module("groundcontrol.studio.transfer")
    written = asyncio.run(transfer.export_templates(load_settings(args.config), args.directory))
    print(f"wrote {written} template files to {args.directory}")
    return EXIT_OK


def run_templates_import(args: argparse.Namespace) -> int:
    transfer = importlib.import_module("groundcontrol.studio.transfer")
    if not args.directory.is_dir():
        print(f"{args.directory} is not a folder", file=sys.stderr)
        return EXIT_PROBLEMS
    published, problems = asyncio.run(
        transfer.import_templates(load_settings(args.config), args.directory)
    )
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found: nothing was published", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"published {published} changed template(s) from {args.directory}")
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    logs.configure(settings.logging)
    app = importlib.import_module("groundcontrol.app")  # heavy: only when serving
    asyncio.run(app.serve(settings))
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    for subscription in settings.subscriptions:
        transport_for(subscription)  # a missing broker client names its extra
    journeys = load_journeys(settings.journeys.file)
    templates_dir = settings.templates.dir
    if not templates_dir.is_dir():
        print(f"templates folder {templates_dir} does not exist", file=sys.stderr)
        return EXIT_PROBLEMS
    renderer = _renderer(settings)
    problems = cadence_problems(journeys)
    problems += check_templates(renderer, journeys, templates_dir / "_samples")
    quiet = (settings.quiet_hours.start, settings.quiet_hours.end)
    problems += words_problems(renderer, load_samples(templates_dir / "_samples"), quiet)
    for problem in problems:
        print(f"{templates_dir}/{problem}" if _names_a_file(problem) else problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return EXIT_PROBLEMS
    print(_summary(args.config, journeys, templates_dir))
    return EXIT_OK


def run_render(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    templates_dir = settings.templates.dir
    sample = load_sample(args.data) if args.data else _default_sample(settings, args.template)
    renderer = _renderer(settings)
    channel = cast(ChannelName, args.channel)
    resolved = renderer.resolve(args.template, channel, args.locale)
    context = sample.context(args.locale or renderer.default_locale)
    message = renderer.render(args.template, channel, args.locale, context)
    print(f"# {templates_dir}/{resolved.file} with sample {sample.name}")
    print(format_preview(channel, message))
    return EXIT_OK


def format_preview(channel: ChannelName, message: RenderedMessage) -> str:
    """A rendered message as a person reads it in a terminal."""
    if channel == "email":
        sections = [f"Subject: {message.subject}", "", "--- text ---", message.text]
        if message.html:
            sections += ["", "--- html ---", message.html]
        return "\n".join(sections)
    lines = [message.text]
    segments = _segments(message.text) if channel == "sms" else None
    if segments:
        lines += ["", f"--- {len(message.text)} characters, {segments} ---"]
    return "\n".join(lines)


def _renderer(settings: Settings) -> Renderer:
    return Renderer.from_directory(
        settings.templates.dir,
        max_output_chars=settings.templates.max_output_chars,
        default_locale=settings.templates.default_locale,
        max_steps=settings.templates.max_render_steps,
        max_seconds=settings.templates.max_render_seconds,
    )


def _default_sample(settings: Settings, template: str) -> Sample:
    """The sample for the status whose journey rule sends `template`, else the first one."""
    samples_dir = settings.templates.dir / "_samples"
    samples = load_samples(samples_dir)
    if not samples:
        raise GroundControlError(f"no sample data in {samples_dir}: pass --data FILE")
    statuses = _statuses_using(load_journeys(settings.journeys.file), template)
    by_name = {sample.name: sample for sample in samples}
    return next((by_name[s] for s in statuses if s in by_name), samples[0])


def _statuses_using(journeys: Journeys, template: str) -> list[str]:
    direct = [r.status for r in journeys.rules.values() if r.template == template]
    follow_ups = [
        r.status
        for r in journeys.rules.values()
        if r.follow_up is not None and r.follow_up.template == template
    ]
    return direct + follow_ups


def _segments(text: str) -> str | None:
    """The SMS segment count, when the segments module is part of this build."""
    try:
        module = importlib.import_module("groundcontrol.channels.segments")
    except ImportError:
        return None
    counted: Any = module.count_segments(text)
    if isinstance(counted, int):
        return f"{counted} segment(s)"
    number = getattr(counted, "segments", getattr(counted, "count", counted))
    encoding = getattr(counted, "encoding", None)
    return f"{number} segment(s)" + (f", {encoding}" if encoding else "")


def _names_a_file(problem: str) -> bool:
    head = problem.split(":", 1)[0]
    return head.endswith(".j2") and " " not in head


def _summary(config: Path | None, journeys: Journeys, templates_dir: Path) -> str:
    catalogue = list_templates(templates_dir)
    files = sum(len(locales) for by in catalogue.values() for locales in by.values())
    samples = len(list((templates_dir / "_samples").glob("*.json")))
    source = config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else "built-in defaults")
    against = f"checked against {samples} samples"
    if not samples:
        against = (
            f"checked against a generated sample (no {templates_dir}/_samples/: "
            "add <status>.json files there to check with your own data)"
        )
    return (
        f"OK: config ({source}), {len(journeys.rules)} journey rules, "
        f"{len(catalogue)} templates in {files} files, {against}"
    )


if __name__ == "__main__":
    sys.exit(main())
