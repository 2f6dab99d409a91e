from __future__ import annotations

import jinja2
import pytest

from groundcontrol.templates.sandbox import MessageSandbox, OutputTooLarge

CAP = 1000


def render(source: str, *, autoescape: bool = False, **variables: object) -> str:
    env = MessageSandbox(jinja2.DictLoader({}), max_output_chars=CAP, autoescape=autoescape)
    return env.from_string(source).render(**variables)


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'ab' * 100000 }}",
        "{{ 100000 * 'ab' }}",
        "{{ [1, 2] * 100000 }}",
        "{{ 2 ** 100000 }}",
        "{{ '%99999999s' % 'x' }}",
        "{{ '%-0999999d' | format(1) }}",
        "{{ '{:>99999999}'.format('x') }}",
        "{{ 'x'.center(99999999) }}",
        "{{ 'x'.ljust(99999999) }}",
        "{{ 'x'.zfill(99999999) }}",
        "{{ 'x' | center(99999999) }}",
        "{{ ('x' * 900) | replace('x', 'yyyyy') }}",
        "{{ ('x' * 900).replace('x', 'yyyyy') }}",
        "{{ range(900) | join('.....') }}",
        "{{ '.....'.join(range(900) | map('string')) }}",
        "{{ ('a\nb\n' * 300) | indent(100) }}",
    ],
)
def test_amplifying_operations_are_refused_before_they_run(source: str) -> None:
    with pytest.raises(OutputTooLarge):
        render(source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ '-' * 3 }}", "---"),
        ("{{ 2 ** 10 }}", "1024"),
        ("{{ '%5s' % 'x' }}", "    x"),
        ("{{ '%s and %s' | format('a', 'b') }}", "a and b"),
        ("{{ 'x' | center(5) }}", "  x  "),
        ("{{ 'a-b' | replace('-', '+') }}", "a+b"),
        ("{{ [1, 2, 3] | join(', ') }}", "1, 2, 3"),
        ("{{ 'a\nb' | indent(2) }}", "a\n  b"),
        ("{{ '{:>3}'.format('x') }}", "  x"),
    ],
)
def test_ordinary_use_still_works(source: str, expected: str) -> None:
    assert render(source) == expected


def test_guarded_filters_keep_autoescaping() -> None:
    assert render("{{ items | join(sep) }}", autoescape=True, items=["<a>", "b"], sep="&") == (
        "&lt;a&gt;&amp;b"
    )
    assert render("{{ v | replace('a', '<') }}", autoescape=True, v="a&") == "&lt;&amp;"


def test_undefined_is_strict() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("{{ missing }}")
