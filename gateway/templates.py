"""`google.api.http` path templates: parsing, compiling and matching request paths.

Grammar (google/api/http.proto):

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

Starlette's own routing cannot express custom verbs (`/v1/users/{user_id}:follow`: the
colon sits inside the last segment), so templates compile to regular expressions of our
own and are matched against the *raw* (still percent-encoded) path. In a raw path a literal
`:` can only be the verb separator, because clients percent-encode a colon inside a value
(`%3A`); variables therefore never span a `:`, and `/v1/users/1:follow` never matches the
verb-less `/v1/users/{user_id}`. Captured values are percent-decoded afterwards, strictly as
UTF-8 (invalid UTF-8 is the client's error, not a replacement character).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()+,;=@-]+\Z")
# One path segment of a raw path: anything but `/` and the verb separator `:`.
_ONE = r"[^/:]+"
_MANY = r"[^:]+?"


class TemplateError(ValueError):
    """A template that does not follow the grammar (a bug in the protos, found at start-up)."""


class PathDecodeError(ValueError):
    """A path variable that is not valid percent-encoded UTF-8."""

    def __init__(self, variable: str) -> None:
        super().__init__(f"{variable} is not valid percent-encoded UTF-8")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A compiled template: `source` as written, `variables` as field paths in order."""

    source: str
    regex: re.Pattern[str]
    variables: tuple[str, ...]
    literal_segments: int
    verb: str

    @property
    def openapi_path(self) -> str:
        """The template as an OpenAPI path: `{user_id=users/*}` becomes `{user_id}`."""
        return re.sub(r"\{([^}=]+)(=[^}]*)?\}", r"{\1}", self.source)

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Variables by field path (decoded), or None when the path does not fit."""
        found = self.regex.fullmatch(raw_path)
        if found is None:
            return None
        values: dict[str, str] = {}
        for index, variable in enumerate(self.variables):
            raw = found.group(f"v{index}")
            try:
                values[variable] = unquote(raw, encoding="utf-8", errors="strict")
            except UnicodeDecodeError:
                raise PathDecodeError(variable) from None
        return values


def _split_verb(template: str) -> tuple[str, str]:
    """Separate the `:verb` suffix, a colon after the last `/` and outside any `{...}`."""
    depth = 0
    last_slash = -1
    verb_at = -1
    for index, char in enumerate(template):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "/" and depth == 0:
            last_slash = index
        elif char == ":" and depth == 0 and index > last_slash:
            verb_at = index
    if verb_at < 0:
        return template, ""
    return template[:verb_at], template[verb_at + 1 :]


def _split_segments(path: str) -> list[str]:
    """Split on `/` outside braces (a variable's own pattern may contain slashes)."""
    segments: list[str] = []
    depth = 0
    current = ""
    for char in path:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == "/" and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    segments.append(current)
    return segments


def _segment_regex(segment: str, source: str) -> str:
    if segment == "*":
        return _ONE
    if segment == "**":
        return _MANY
    if not _LITERAL.match(segment):
        raise TemplateError(f"{source!r}: bad segment {segment!r}")
    return re.escape(segment)


def compile_template(source: str) -> PathTemplate:
    if not source.startswith("/"):
        raise TemplateError(f"{source!r}: a template starts with '/'")
    if source == "/":  # the root alone (the web app's page): no segments at all
        return PathTemplate(source, re.compile("/"), (), 0, "")
    path, verb = _split_verb(source)
    if verb and not _LITERAL.match(verb):
        raise TemplateError(f"{source!r}: bad verb {verb!r}")
    pattern = ""
    variables: list[str] = []
    literals = 0
    for segment in _split_segments(path[1:]):
        pattern += "/"
        if segment.startswith("{"):
            if not segment.endswith("}"):
                raise TemplateError(f"{source!r}: unclosed variable {segment!r}")
            name, _, inner = segment[1:-1].partition("=")
            if not _IDENT.match(name):
                raise TemplateError(f"{source!r}: bad field path {name!r}")
            if name in variables:
                raise TemplateError(f"{source!r}: {name!r} bound twice")
            inner_regex = "/".join(_segment_regex(s, source) for s in inner.split("/")) if inner else _ONE
            pattern += f"(?P<v{len(variables)}>{inner_regex})"
            variables.append(name)
            literals += sum(1 for s in inner.split("/") if s not in ("*", "**")) if inner else 0
        else:
            if segment == "":
                raise TemplateError(f"{source!r}: empty segment")
            pattern += _segment_regex(segment, source)
            literals += segment not in ("*", "**")
    if verb:
        pattern += ":" + re.escape(verb)
    return PathTemplate(source, re.compile(pattern), tuple(variables), literals, verb)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    """A request path matched to a target, with its path variables."""

    target: T
    variables: dict[str, str]


@dataclass
class Matcher(Generic[T]):
    """Per HTTP method, the compiled templates tried most specific first.

    `match` answers the target and variables, `allowed` the methods a path exists for
    (to tell 405 from 404). A path that is exactly a template without variables (the home
    feed, trends, `/v1/users/me`) is found by one dict lookup, not a scan of regexes.
    """

    _by_method: dict[str, list[tuple[PathTemplate, T]]] = field(default_factory=dict)
    _literal: dict[tuple[str, str], T] = field(default_factory=dict)

    def add(self, http_method: str, template: PathTemplate, target: T) -> None:
        entries = self._by_method.setdefault(http_method.upper(), [])
        for existing, _ in entries:
            if existing.source == template.source:
                raise TemplateError(f"{http_method} {template.source} is mapped twice")
        entries.append((template, target))
        if not template.variables and template.regex.fullmatch(template.source):
            self._literal[(http_method.upper(), template.source)] = target
        # More literal segments first: `/v1/users/me` before `/v1/users/{user_id}`.
        entries.sort(key=lambda entry: (-entry[0].literal_segments, len(entry[0].variables)))

    def match(self, http_method: str, raw_path: str) -> Match[T] | None:
        literal = self._literal.get((http_method, raw_path))
        if literal is not None:
            return Match(literal, {})
        for template, target in self._by_method.get(http_method, ()):
            variables = template.match(raw_path)
            if variables is not None:
                return Match(target, variables)
        return None

    def allowed(self, raw_path: str) -> list[str]:
        return sorted(
            method
            for method, entries in self._by_method.items()
            if any(template.regex.fullmatch(raw_path) for template, _ in entries)
        )

    def entries(self) -> list[tuple[str, PathTemplate, T]]:
        return [(method, template, target) for method, items in self._by_method.items() for template, target in items]
