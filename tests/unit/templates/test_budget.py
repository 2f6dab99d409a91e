"""A render's budget: the issue 17 bombs (nested loops, lipsum, doubling strings) fail
like a broken template, with a plain message, instead of running for seconds."""

from __future__ import annotations

import gc
import time

import jinja2
import pytest

from groundcontrol.errors import TemplateError
from groundcontrol.templates.budget import BudgetExceeded, RenderBudget, budget, counted, tick
from groundcontrol.templates.renderer import Renderer

CONTEXT = {"customer": {"first_name": "Ada"}}


def renderer(source: str, **limits: float) -> Renderer:
    files = {"bomb/sms.j2": source}
    return Renderer(jinja2.DictLoader(files), max_output_chars=10_000, **limits)  # type: ignore[arg-type]


def render(source: str, **limits: float) -> str:
    return renderer(source, **limits).render("bomb", "sms", None, CONTEXT).text


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x",
            "loop steps",
        ),
        (
            "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(40) }}x",
            "loop steps",
        ),
        ("{{ [1] | slice(10**9) | list | length }}", "loop steps"),
        ("{{ [1] | batch(10**9, 'x') | list | length }}", "would build"),
        (
            "{% set s = namespace(v='ab') %}{% for i in range(40) %}"
            "{% set s.v = s.v ~ s.v %}{% endfor %}{{ s.v | length }}",
            "would build",
        ),
        (
            "{% set s = namespace(v='ab') %}{% for i in range(40) %}"
            "{% set s.v = s.v + s.v %}{% endfor %}{{ s.v | length }}",
            "would build",
        ),
        (
            "{% set big = 'x' * 9000 %}{% set s %}{% for i in range(100) %}{{ big }}"
            "{% endfor %}{% endset %}{{ s | length }}",
            "would build",
        ),
        ("{{ lipsum(n=1000000) }}", "undefined"),
    ],
)
def test_bombs_fail_as_a_template_error_saying_why(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message) as info:
        render(source, max_steps=20_000, max_seconds=30)
    assert str(info.value).startswith("bomb/sms.j2:")


def test_the_deadline_stops_a_render_under_its_step_limit() -> None:
    source = "{% for i in range(1000) %}{{ i }}{% endfor %}"
    with pytest.raises(TemplateError, match=r"took more than 1e-09 s"):
        render(source, max_seconds=1e-9)


def test_an_ordinary_template_renders_within_its_budget() -> None:
    source = "Hi {{ customer.first_name }}{% for i in range(3) %} {{ i }}{% endfor %}"
    assert render(source, max_steps=1000) == "Hi Ada 0 1 2"


def test_each_render_gets_a_fresh_budget() -> None:
    r = renderer("{% for i in range(600) %}{% endfor %}ok", max_steps=1000)
    assert [r.render("bomb", "sms", None, CONTEXT).text for _ in range(3)] == ["ok"] * 3


def test_steps_are_counted_only_inside_a_render() -> None:
    tick()  # no budget: nothing to count against
    with budget(max_steps=2, seconds=60) as current:
        assert list(counted("ab")) == ["a", "b"]
        assert current.steps == 2
        with pytest.raises(BudgetExceeded, match="more than 2 loop steps"):
            tick()


def test_a_budget_past_its_deadline_refuses_the_next_step() -> None:
    with pytest.raises(BudgetExceeded, match="took more than"):
        RenderBudget(max_steps=10, seconds=-1).tick()


def test_renders_inside_one_budget_share_it() -> None:
    r = renderer("{% for i in range(600) %}{% endfor %}ok", max_steps=1000)
    with budget(max_steps=1000, seconds=60):
        assert r.render("bomb", "sms", None, CONTEXT).text == "ok"
        with pytest.raises(TemplateError, match="more than 1000 loop steps"):
            r.render("bomb", "sms", None, CONTEXT)


async def test_off_loop_work_shares_one_budget_across_its_renders() -> None:
    r = renderer("{% for i in range(600) %}{% endfor %}ok", max_steps=1000)

    def twice() -> list[str]:
        outcomes = []
        for _ in range(2):
            try:
                outcomes.append(r.render("bomb", "sms", None, CONTEXT).text)
            except TemplateError as exc:
                outcomes.append(str(exc))
        return outcomes

    first, second = await r.off_loop(twice)
    assert first == "ok"
    assert "more than 1000 loop steps" in second


def test_waiting_is_not_working_so_a_busy_machine_does_not_spend_the_budget() -> None:
    # Time spent not running (another thread holding the GIL, other processes on the
    # cores) is not the template's: only the rendering thread's CPU time counts.
    waited = RenderBudget(max_steps=10, seconds=0.05)
    time.sleep(0.1)
    waited.tick()
    assert waited.steps == 1


def test_the_garbage_collectors_time_is_not_the_templates() -> None:
    # A full collection over a big heap runs in whichever thread allocates past the
    # threshold: the render that happens to trigger it must not pay for it.
    gc.freeze()  # the test process's own heap: the collection below walks ours alone
    try:
        heap: list[list[list[int]]] = [[[]] for _ in range(100_000)]
        before = time.thread_time()
        collecting = RenderBudget(max_steps=10, seconds=0.001)
        gc.collect()
        assert time.thread_time() - before > 0.001, "the collection took CPU time"
        collecting.tick()
        assert collecting.steps == 1
        del heap
    finally:
        gc.unfreeze()


def test_working_time_still_spends_the_budget() -> None:
    working = RenderBudget(max_steps=10, seconds=0.01)
    started = time.thread_time()
    while time.thread_time() - started < 0.02:
        pass
    with pytest.raises(BudgetExceeded, match="took more than"):
        working.tick()
