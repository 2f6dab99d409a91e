"""Template files are re-checked for edits at most once per interval."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import jinja2

from groundcontrol.templates.freshness import ThrottledFreshness


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingFiles(jinja2.BaseLoader):
    """Files whose up-to-date checks are counted."""

    def __init__(self, files: jinja2.BaseLoader) -> None:
        self.files = files
        self.checks: list[str] = []

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.files.get_source(environment, template)
        assert uptodate is not None

        def counted() -> bool:
            self.checks.append(template)
            return uptodate()

        return source, filename, counted


def _edit(path: Path, text: str, mtime: float) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def _environment(tmp_path: Path, clock: FakeClock) -> jinja2.Environment:
    loader = ThrottledFreshness(jinja2.FileSystemLoader(tmp_path), interval=1.0, clock=clock)
    return jinja2.Environment(loader=loader, auto_reload=True)


def test_an_edit_is_picked_up_once_the_interval_has_passed(tmp_path: Path) -> None:
    clock = FakeClock()
    _edit(tmp_path / "hello.txt", "old", mtime=1_000)
    environment = _environment(tmp_path, clock)
    assert environment.get_template("hello.txt").render() == "old"

    _edit(tmp_path / "hello.txt", "new", mtime=2_000)
    clock.now += 0.5
    assert environment.get_template("hello.txt").render() == "old"  # not stat-ed yet
    clock.now += 0.6
    assert environment.get_template("hello.txt").render() == "new"


def test_without_an_edit_the_file_is_stat_ed_once_per_interval(tmp_path: Path) -> None:
    clock = FakeClock()
    _edit(tmp_path / "hello.txt", "same", mtime=1_000)
    files = CountingFiles(jinja2.FileSystemLoader(tmp_path))
    loader = ThrottledFreshness(files, interval=1.0, clock=clock)
    environment = jinja2.Environment(loader=loader, auto_reload=True)
    for _ in range(50):
        environment.get_template("hello.txt").render()
    assert files.checks == []
    clock.now += 1.0
    for _ in range(50):
        environment.get_template("hello.txt").render()
    assert files.checks == ["hello.txt"]


def test_it_lists_what_the_files_hold(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    loader = ThrottledFreshness(jinja2.FileSystemLoader(tmp_path))
    assert loader.list_templates() == ["a.txt"]
