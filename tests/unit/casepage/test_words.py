"""The page's words from the bundled `_page` templates, for every sample and language."""

from __future__ import annotations

from pathlib import Path

import jinja2

from groundcontrol.casepage.words import HEADINGS, sample_words, words_problems
from groundcontrol.templates.context import load_samples
from groundcontrol.templates.renderer import Renderer

REPO = Path(__file__).resolve().parents[3]
RENDERER = Renderer.from_directory(REPO / "templates")
SAMPLES = load_samples(REPO / "templates" / "_samples")
QUIET = ("21:00", "08:00")


def test_the_bundled_words_render_every_sample_in_english_and_dutch() -> None:
    assert words_problems(RENDERER, SAMPLES, QUIET) == []
    for locale, lang in (("en-US", "en"), ("nl-NL", "nl"), ("fr-CA", "en")):
        words = sample_words(RENDERER, locale, SAMPLES[0], QUIET)
        assert words.lang == lang
        assert all(words.text[block] for block in HEADINGS)
        assert len(words.history) == 3


def test_the_words_see_the_first_name_and_nothing_else_of_the_customer() -> None:
    [received] = [s for s in SAMPLES if s.name == "received"]
    words = sample_words(RENDERER, "nl", received, QUIET)
    assert "Ada" in words.text["greeting"]
    loader = jinja2.DictLoader(
        {"_page/page.j2": "{% block title %}{{ customer.email }}{% endblock %}"}
    )
    problems = words_problems(Renderer(loader), [received], QUIET)
    assert len(problems) == 1 and "undefined variable" in problems[0]


def test_a_language_without_words_falls_back_to_the_default_file() -> None:
    words = sample_words(RENDERER, "de-DE", SAMPLES[0], QUIET)
    assert (words.lang, words.text["save"]) == ("en", "Save my preferences")
