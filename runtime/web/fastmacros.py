"""GOV.UK Frontend macros (govuk-frontend-jinja) without their per-call costs.

govuk-frontend-jinja 4.1 writes each component's imports *inside* the macro::

    {% macro govukInput(params) %}
    {% from "govuk_frontend_jinja/macros/attributes.html" import govukAttributes %}
    ...

so every call of every component looks the imported templates up again
(``Environment.get_template``) and asks each for its module (``Template._get_default_module``,
which compares the caller's globals with the template's, a ChainMap, key by key): some 45
imports per question page, 15% of its time. And ``govukAttributes``, which every component
calls for every element (27 times on the address page), is a Jinja macro looping over a dict
with string formatting: another 17%.

:class:`FastMacroLoader` stands in front of the package's own loader and serves the same
templates with two changes, and no change to what they output:

- the ``{% from ... import ... %}`` lines inside a macro are moved to the top of the file, so
  they run once, when the template's module is made (Jinja caches it per environment); each
  moved line leaves an empty ``{% if false %}{% endif %}`` in its place with the same
  whitespace control, so the macro's output is byte for byte the same;
- ``macros/attributes.html`` exports :func:`govuk_attributes`, a Python function with the
  macro's exact rules (``tests/runtime/test_fastmacros.py`` compares the two on every kind of
  value, and every component the runtime uses on its original and its fast template).

Both belong upstream (govuk-frontend-jinja): imports at the top of each macro file, and a
Python ``govukAttributes``. Until then this module is the fix, pinned to what it was tested on:
if a template no longer has the shape expected, it is served unchanged.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import BaseLoader, BytecodeCache, Environment, Template, pass_environment
from jinja2.bccache import Bucket
from jinja2.environment import TemplateModule
from jinja2.runtime import Context
from markupsafe import Markup, escape

PACKAGE_PREFIX = "govuk_frontend_jinja/"
ATTRIBUTES_TEMPLATE = "macros/attributes.html"
# The name the fast govukAttributes has among the environment's globals.
ATTRIBUTES_GLOBAL = "_civicforms_govuk_attributes"

_FROM_IMPORT = re.compile(
    r"\{%(?P<open>-?)\s*from\s+\"(?P<template>govuk_frontend_jinja/[\w./-]+)\"\s+import\s+"
    r"(?P<names>\w+(?:\s*,\s*\w+)*)\s*(?P<close>-?)%\}"
)
_MACRO_START = re.compile(r"\{%-?\s*macro\s")


def hoist_imports(source: str) -> str:
    """``source`` with the imports written inside macros moved to the top of the template.

    Only the imports after the first ``{% macro`` move (those before it run once already); each
    leaves an empty block with the same whitespace control, so no macro's output changes.
    """
    first_macro = _MACRO_START.search(source)
    if first_macro is None:
        return source
    head, body = source[: first_macro.start()], source[first_macro.start() :]
    hoisted: list[str] = []

    def move(match: re.Match[str]) -> str:
        statement = f'{{% from "{match["template"]}" import {match["names"]} %}}'
        if statement not in hoisted:
            hoisted.append(statement)
        return f"{{%{match['open']} if false %}}{{% endif {match['close']}%}}"

    body = _FROM_IMPORT.sub(move, body)
    if not hoisted:
        return source
    # {#- ... -#} after the imports strips the newline they would add to the module's own output
    # (which nobody reads: a macro file is only imported).
    return "".join(f"{line}\n" for line in hoisted) + head + body


ATTRIBUTES_SOURCE = (
    "{# govukAttributes in Python: runtime.web.fastmacros.govuk_attributes #}"
    f"{{% set govukAttributes = {ATTRIBUTES_GLOBAL} %}}"
)


@pass_environment
def govuk_attributes(environment: Environment, attributes: Any) -> Markup:
    """govuk-frontend-jinja's ``govukAttributes`` macro (macros/attributes.html), in Python.

    A string is output as it is (it is the caller's HTML); a mapping gives `` name="value"`` for
    each item, escaped, where a value is either plain (booleans as ``true``/``false``) or
    ``{"value": ..., "optional": ...}``: optional values that are None, undefined or False are
    left out, and optional True gives the name alone. Anything else gives nothing.
    """
    if isinstance(attributes, str):
        return Markup(attributes)
    if not isinstance(attributes, Mapping) or not attributes:
        return Markup("")
    undefined = environment.undefined
    get = environment.getattr
    html = ""
    for name, value in attributes.items():
        # {% if value is mapping and value.val not in [undefined, null] and value | length %}
        if isinstance(value, Mapping):
            val = get(value, "val")
            if type(val) is not undefined and len(value):
                value = val
        if isinstance(value, Mapping):
            options_value = get(value, "value")
            optional_true = get(value, "optional") is True
        else:
            options_value = str(value).lower() if isinstance(value, bool) else value
            optional_true = False
        if optional_true and options_value is True:
            html = f"{html} {escape(name)}"
        elif not optional_true or (
            type(options_value) is not undefined and options_value is not None and options_value is not False
        ):
            html = f'{html} {escape(name)}="{escape(options_value)}"'
    return Markup(html)


class FastMacroLoader(BaseLoader):
    """govuk-frontend-jinja's templates, imports hoisted and ``govukAttributes`` in Python.

    Wraps the package's own loader (``PackageLoader("govuk_frontend_jinja")``, found under the
    ``govuk_frontend_jinja/`` prefix): the same names, the same files, served changed. Call
    :func:`install` on the environment too, which gives the templates the Python function.
    """

    def __init__(self, package_loader: BaseLoader):
        self.package_loader = package_loader

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.package_loader.get_source(environment, template)
        if template == ATTRIBUTES_TEMPLATE and "macro govukAttributes(attributes)" in source:
            return ATTRIBUTES_SOURCE, filename, uptodate
        return hoist_imports(source), filename, uptodate

    def list_templates(self) -> list[str]:
        return self.package_loader.list_templates()


class FastImportTemplate(Template):
    """A Jinja template whose module is found faster when another template imports it.

    Every ``{% from "x.html" import y %}`` asks x.html for its module, and Jinja first checks
    whether the importing template has globals that x.html lacks
    (``ctx.globals_keys - self.globals.keys()``): a set minus a ChainMap's keys, which tests
    each name against each map in Python, 8% of a question page once the GOV.UK macros no
    longer import on every call. The same difference, taken with ``set.difference`` over the
    ChainMap's dicts, is done in C. Anything unusual goes to Jinja's own code. (For Jinja
    upstream: ``Template._get_default_module``.)
    """

    def _get_default_module(self, ctx: Context | None = None) -> TemplateModule:
        own = self.globals
        if ctx is not None and isinstance(own, ChainMap) and all(type(m) is dict for m in own.maps):
            if not ctx.globals_keys.difference(*own.maps) and not self.environment.is_async:
                if self._module is None:
                    self._module = self.make_module()
                return self._module
        return super()._get_default_module(ctx)


def install(environment: Environment) -> None:
    """Give ``environment`` what :class:`FastMacroLoader`'s attributes template refers to, and
    templates that import faster (set before any template is loaded)."""
    environment.globals[ATTRIBUTES_GLOBAL] = govuk_attributes
    environment.template_class = FastImportTemplate


class SharedCompiledTemplates(BytecodeCache):
    """Compiled templates shared by every Jinja environment of the process.

    Each Flask app has its own environment, and Jinja compiles each template again for each one
    (some 40 ms for the page layout): the development server's three faces, and a test suite
    that makes an app per test, paid that every time. A template's code is a function of its
    source (Jinja checks the checksum on every load) and of the environment's compile-time
    options, which are part of the key here, together with whether the name is autoescaped. The
    code objects stay in memory (no marshalling), at most one per template, source and option set.
    """

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, Any]] = {}

    @staticmethod
    def _options(environment: Environment, name: str) -> tuple[Any, ...]:
        autoescape = environment.autoescape(name) if callable(environment.autoescape) else environment.autoescape
        return (
            environment.block_start_string,
            environment.block_end_string,
            environment.variable_start_string,
            environment.variable_end_string,
            environment.comment_start_string,
            environment.comment_end_string,
            environment.line_statement_prefix,
            environment.line_comment_prefix,
            environment.trim_blocks,
            environment.lstrip_blocks,
            environment.newline_sequence,
            environment.keep_trailing_newline,
            environment.optimized,
            environment.is_async,
            environment.finalize is not None,
            tuple(sorted(environment.extensions)),
            bool(autoescape),
        )

    def get_bucket(self, environment: Environment, name: str, filename: str | None, source: str) -> Bucket:
        key = repr((self._options(environment, name), self.get_cache_key(name, filename)))
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        kept = self._code.get(bucket.key)
        if kept is not None and kept[0] == bucket.checksum:
            bucket.code = kept[1]

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            self._code[bucket.key] = (bucket.checksum, bucket.code)


SHARED_COMPILED_TEMPLATES = SharedCompiledTemplates()
