"""runtime.web.fastmacros serves GOV.UK Frontend's macros faster and changes none of their HTML.

Every component is rendered twice, through the package's own templates and through the fast
ones, with every example GOV.UK Frontend ships for it (its fixtures.json, from npm) and with
every question of every shipped service (blank, answered, with errors): the two must be the same
to the byte. govukAttributes, rewritten in Python, is compared with the macro on every kind of
value it documents, and on hostile ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader
from markupsafe import Markup

from runtime import rendering
from runtime.definition import Definition, read_file
from runtime.settings import PROJECT_ROOT
from runtime.web import fastmacros
from runtime.web.common import SHARED_TEMPLATES
from tests.conftest import DEFINITIONS

COMPONENTS = PROJECT_ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk" / "components"
PACKAGE = Path(__import__("govuk_frontend_jinja").__file__).parent / "templates"
MACRO_FILES = sorted(PACKAGE.glob("components/*/macro.html"))


def _macro_name(component: str) -> str:
    return "govuk" + "".join(part.capitalize() for part in component.split("-"))


@pytest.fixture
def envs(app: Flask) -> Iterator[tuple[Environment, Environment]]:
    """(original, fast): the app's own environment, and the same one on the package's own
    templates, unchanged."""
    fast = app.jinja_env
    original = fast.overlay(
        loader=ChoiceLoader(
            [
                FileSystemLoader(str(SHARED_TEMPLATES)),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        cache_size=400,
    )
    with app.test_request_context():
        yield original, fast


def _call(env: Environment, template: str, name: str, *args: Any) -> str:
    return str(getattr(env.get_template(template).module, name)(*args))


def test_the_app_serves_the_fast_templates(app: Flask) -> None:
    source = app.jinja_env.loader.get_source(app.jinja_env, "govuk_frontend_jinja/components/input/macro.html")[0]  # type: ignore[union-attr]
    head, _, body = source.partition("{% macro govukInput")
    assert '{% from "govuk_frontend_jinja/components/label/macro.html" import govukLabel %}' in head
    assert "{% from" not in body  # nothing is imported on each call any more
    with app.app_context():
        module = app.jinja_env.get_template("govuk_frontend_jinja/macros/attributes.html").module
        assert module.govukAttributes is fastmacros.govuk_attributes  # type: ignore[attr-defined]


def test_every_macro_file_loses_its_per_call_imports(app: Flask) -> None:
    """If govuk-frontend-jinja changes the shape of its imports, this says so (the templates
    would still work, served unchanged, only slower)."""
    for path in MACRO_FILES:
        original = path.read_text()
        hoisted = fastmacros.hoist_imports(original)
        body = hoisted[hoisted.index("{% macro") :]
        assert "{% from" not in body and "{%- from" not in body, path
        assert hoisted.count("{% from") == len(set(fastmacros._FROM_IMPORT.findall(original))), path


def _fixtures() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in sorted(COMPONENTS.glob("*/fixtures.json")):
        data = json.loads(path.read_text())
        for fixture in data["fixtures"]:
            found.append((data["component"], fixture["name"], fixture["options"]))
    return found


FIXTURES = _fixtures()


@pytest.mark.skipif(
    not FIXTURES, reason="GOV.UK Frontend's fixtures come from npm (node_modules): run ./manage.sh setup"
)
def test_every_govuk_frontend_example_renders_the_same(envs: tuple[Environment, Environment]) -> None:
    original, fast = envs
    compared = 0
    for component, name, options in FIXTURES:
        template = f"govuk_frontend_jinja/components/{component}/macro.html"
        if not (PACKAGE / "components" / component / "macro.html").exists():
            continue
        macro = _macro_name(component)
        try:
            expected = _call(original, template, macro, options)
        except Exception as error:  # an example the Jinja port itself cannot render
            with pytest.raises(type(error)):
                _call(fast, template, macro, options)
            continue
        assert _call(fast, template, macro, options) == expected, f"{component}: {name}"
        compared += 1
    assert compared > 500  # GOV.UK Frontend 6.3 ships some 700 examples


def test_every_shipped_question_renders_the_same(envs: tuple[Environment, Environment]) -> None:
    """Blank, answered with hostile text, and with an error: through components/question.html."""
    original, fast = envs
    hostile = '"><script>alert(1)</script>&amp;'
    for path in sorted(DEFINITIONS.glob("*.json")):
        definition = Definition(read_file(path))
        for page in definition.pages:
            for name in page.questions:
                for as_heading in (True, False):
                    blank = rendering.question_view(definition, name, {}, {}, as_heading)
                    raw = dict.fromkeys(_field_names(blank), hostile)
                    errors = {name: f"Enter {hostile}"}
                    for view in (blank, rendering.question_view(definition, name, raw, errors, as_heading)):
                        expected = _call(original, "components/question.html", "render_question", view)
                        assert _call(fast, "components/question.html", "render_question", view) == expected, name


def _field_names(view: dict[str, Any]) -> set[str]:
    params = view["params"]
    names = {params.get("name", "")}
    names |= {item.get("name", "") for item in params.get("items", []) if isinstance(item, dict)}
    names |= {i["params"].get("name", "") for i in params.get("inputs", []) if isinstance(i, dict) and "params" in i}
    return {n for n in names if n}


class Odd:
    def __str__(self) -> str:
        return "<odd & end>"


ATTRIBUTE_CASES: list[Any] = [
    None,
    "",
    'data-x="1"',
    Markup('data-safe="<b>"'),
    {},
    [],
    42,
    {"aria-hidden": True},
    {"aria-hidden": False},
    {"aria-hidden": "true"},
    {"hidden": None},
    {"hidden": ""},
    {"hidden": 0},
    {"hidden": {"value": True, "optional": True}},
    {"hidden": {"value": False, "optional": True}},
    {"hidden": {"value": None, "optional": True}},
    {"hidden": {"value": "", "optional": True}},
    {"hidden": {"value": 0, "optional": True}},
    {"hidden": {"value": "x", "optional": False}},
    {"hidden": {"value": True, "optional": False}},
    {"hidden": {"value": True}},
    {"hidden": {"optional": True}},
    {"hidden": {"optional": False}},
    {"hidden": {}},
    {"hidden": {"val": '<b>"'}},
    {"hidden": {"val": None}},
    {"hidden": {"val": {"value": "inner", "optional": True}}},
    {"hidden": {"val": True, "other": 1}},
    {"hidden": {"value": "v", "optional": "true"}},
    {'"><script>': '"><script>alert(1)</script>', "data-&": "&amp;"},
    {"data-odd": Odd(), "data-list": [1, "<2>"], "data-num": 3.5},
    {"a": "1", "b": {"value": "2", "optional": True}, "c": {"value": None, "optional": True}, "d": True},
]


@pytest.mark.parametrize("attributes", ATTRIBUTE_CASES, ids=[repr(c)[:40] for c in ATTRIBUTE_CASES])
def test_govuk_attributes_in_python_is_the_macro(envs: tuple[Environment, Environment], attributes: Any) -> None:
    """Through a template, as the components call it (with undefined parameters too)."""
    original, fast = envs
    page = (
        "{% from 'govuk_frontend_jinja/macros/attributes.html' import govukAttributes %}"
        "<p{{ govukAttributes(a) }}{{ govukAttributes(missing) }}>"
    )
    assert fast.from_string(page).render(a=attributes) == original.from_string(page).render(a=attributes)


def test_a_template_of_another_shape_is_served_unchanged() -> None:
    source = "{% macro x() %}{% from 'elsewhere.html' import y %}{{ y() }}{% endmacro %}"
    assert fastmacros.hoist_imports(source) == source
    assert fastmacros.hoist_imports("no macros here") == "no macros here"


# -- compiled templates shared by every environment ------------------------------------------------


def test_compiled_templates_are_shared_across_environments_with_the_same_options() -> None:
    from jinja2 import DictLoader

    from runtime.web.fastmacros import SharedCompiledTemplates

    shared = SharedCompiledTemplates()
    compiled: list[str] = []

    class Counting(Environment):
        def compile(self, source: Any, *args: Any, **kwargs: Any) -> Any:
            compiled.append(str(source))
            return super().compile(source, *args, **kwargs)

    def env(source: str, **options: Any) -> Environment:
        e = Counting(loader=DictLoader({"page.html": source}), bytecode_cache=shared, **options)
        return e

    first = env("{% if x %}\n<b>{{ x }}</b>\n{% endif %}", autoescape=True)
    second = env("{% if x %}\n<b>{{ x }}</b>\n{% endif %}", autoescape=True)
    assert first.get_template("page.html").render(x="<i>") == "\n<b>&lt;i&gt;</b>\n"
    assert second.get_template("page.html").render(x="<i>") == "\n<b>&lt;i&gt;</b>\n"
    assert len(compiled) == 1  # the second environment took the first one's code
    # Another source under the same name is compiled, and renders its own text.
    assert env("<p>{{ x }}</p>", autoescape=True).get_template("page.html").render(x="y") == "<p>y</p>"
    assert len(compiled) == 2
    # Other compile-time options (whitespace, escaping) never share code.
    trimmed = env("{% if x %}\n<b>{{ x }}</b>\n{% endif %}", autoescape=True, trim_blocks=True)
    assert trimmed.get_template("page.html").render(x="<i>") == "<b>&lt;i&gt;</b>\n"
    raw = env("{% if x %}\n<b>{{ x }}</b>\n{% endif %}", autoescape=False)
    assert raw.get_template("page.html").render(x="<i>") == "\n<b><i></b>\n"
    assert len(compiled) == 4


def test_every_app_uses_the_shared_compiled_templates(app: Any) -> None:
    from runtime.web.fastmacros import SHARED_COMPILED_TEMPLATES

    assert app.jinja_env.bytecode_cache is SHARED_COMPILED_TEMPLATES
