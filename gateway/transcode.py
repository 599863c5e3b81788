"""JSON <-> protobuf for a route: path variables, query parameters and body in, JSON out.

The mapping is proto3 JSON (google.protobuf.json_format) with the original snake_case field
names; int64 values leave as strings and are accepted as strings or numbers. Two additions
keep the REST contract of docs/api.md:

- Enum values are written the short way (`MEDIA_KIND_IMAGE` -> `image`, docs/api.md's `kind
  (image|audio|video)`); the full names and numbers are accepted on input too.
- Before json_format sees a value, `_Checker` walks it against the descriptor, so that
  every problem becomes a 400 naming the field (`user.languages[1]`): unknown fields and
  enum values, wrong types, out-of-range numbers, and text that is not UTF-8 or holds NUL
  (which PostgreSQL cannot store: it would otherwise come back as a 500).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import orjson
from google.api import field_behavior_pb2
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from gateway.descriptors import enum_of, message_of
from gateway.routes import Route
from gateway.tojson import Printer
from services.kit.errors import InvalidArgument

F = FieldDescriptor
_INT_RANGES: dict[int, tuple[int, int]] = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOATS = frozenset({F.TYPE_FLOAT, F.TYPE_DOUBLE})
_INTEGER_TEXT = re.compile(r"^-?[0-9]+\Z")
_FLOAT_SPECIAL = frozenset({"NaN", "Infinity", "-Infinity"})
# Well-known types whose JSON form is a string (or anything, for Struct/Value): json_format
# parses them; the checker only makes sure text is sound.
_STRINGLY_WKT = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.ListValue",
        "google.protobuf.Any",
        "google.protobuf.DoubleValue",
        "google.protobuf.FloatValue",
        "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value",
        "google.protobuf.Int32Value",
        "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",
        "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
    }
)
_FIELD_MASK = "google.protobuf.FieldMask"
_PARSE_FAILURE = re.compile(r"Failed to parse (\w+) field: ")


# ---------------------------------------------------------------------------------------
# enums: the short JSON names of docs/api.md
# ---------------------------------------------------------------------------------------


def _upper_snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


@cache
def _enum_names(enum: EnumDescriptor) -> tuple[dict[str, str], dict[str, str]]:
    """(full name -> short name, any accepted spelling -> full name) for one enum."""
    prefix = _upper_snake(enum.name) + "_"
    to_short: dict[str, str] = {}
    accepted: dict[str, str] = {}
    for value in enum.values:
        short = value.name[len(prefix) :].lower() if value.name.startswith(prefix) else value.name.lower()
        to_short[value.name] = short
        accepted[value.name] = value.name
        accepted[short] = value.name
        accepted[str(value.number)] = value.name
    return to_short, accepted


def short_enum_value(enum: EnumDescriptor, full_name: str) -> str:
    return _enum_names(enum)[0].get(full_name, full_name)


def enum_choices(enum: EnumDescriptor) -> list[str]:
    """The spellings documented for clients (the short ones)."""
    return [short_enum_value(enum, v.name) for v in enum.values]


@cache
def _has_enums(message: Descriptor) -> bool:
    """Whether any message reachable from `message` has an enum field (then output needs
    rewriting; most answers, e.g. User, do not and skip the walk)."""
    pending = [message]
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        if current.full_name in seen:
            continue
        seen.add(current.full_name)
        for field in current.fields:
            if field.type == F.TYPE_ENUM:
                return True
            if field.type == F.TYPE_MESSAGE:
                pending.append(message_of(field))
    return False


def _shorten(message: Descriptor, data: dict[str, Any]) -> None:
    for key, value in data.items():
        field = message.fields_by_name.get(key)
        if field is None:
            continue
        if field.type == F.TYPE_ENUM:
            if isinstance(value, list):
                data[key] = [short_enum_value(enum_of(field), v) for v in value]
            elif isinstance(value, str):
                data[key] = short_enum_value(enum_of(field), value)
        elif field.type == F.TYPE_MESSAGE and _has_enums(message_of(field)):
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        _shorten(message_of(field), item)
            elif isinstance(value, dict):
                _shorten(message_of(field), value)


# ---------------------------------------------------------------------------------------
# checking JSON values against descriptors
# ---------------------------------------------------------------------------------------


def _behaviors(field: FieldDescriptor) -> list[int]:
    return list(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


def is_output_only(field: FieldDescriptor) -> bool:
    return field_behavior_pb2.OUTPUT_ONLY in _behaviors(field)


def is_required(field: FieldDescriptor) -> bool:
    return field_behavior_pb2.REQUIRED in _behaviors(field)


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == F.TYPE_MESSAGE and message_of(field).GetOptions().map_entry


def _snake_to_camel(path: str) -> str:
    head, *rest = path.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8 (it holds a lone surrogate)"
    return None


class _Checker:
    """Walks a JSON value against a message descriptor, collecting field violations and
    returning the value json_format should parse (enum spellings made canonical)."""

    def __init__(self) -> None:
        self.violations: dict[str, str] = {}

    def fail(self, path: str, why: str) -> None:
        self.violations.setdefault(path or "body", why)

    def message(self, message: Descriptor, data: Any, path: str) -> Any:
        if not isinstance(data, dict):
            self.fail(path, "must be a JSON object")
            return {}
        out: dict[str, Any] = {}
        for key, value in data.items():
            field = message.fields_by_name.get(key) or _json_names(message).get(key)
            where = f"{path}.{key}" if path else key
            if field is None:
                self.fail(where, f"is not a field of {message.name}")
                continue
            out[field.name] = self.field(field, value, where)
        return out

    def field(self, field: FieldDescriptor, value: Any, path: str) -> Any:
        if value is None:
            return None  # proto3 JSON: null means the default
        if _is_map(field):
            if not isinstance(value, dict):
                self.fail(path, "must be a JSON object")
                return {}
            value_field = message_of(field).fields_by_name["value"]
            return {str(k): self.single(value_field, v, f"{path}.{k}") for k, v in value.items()}
        if field.is_repeated:
            if not isinstance(value, list):
                self.fail(path, "must be a list")
                return []
            items = []
            for index, item in enumerate(value):
                if item is None:
                    self.fail(f"{path}[{index}]", "must not be null")
                    continue
                items.append(self.single(field, item, f"{path}[{index}]"))
            return items
        return self.single(field, value, path)

    def single(self, field: FieldDescriptor, value: Any, path: str) -> Any:
        kind = field.type
        if kind == F.TYPE_STRING:
            if not isinstance(value, str):
                self.fail(path, "must be a string")
            elif (problem := _text_problem(value)) is not None:
                self.fail(path, problem)
            return value
        if kind in _INT_RANGES:
            return self.integer(kind, value, path)
        if kind in _FLOATS:
            return self.number(value, path)
        if kind == F.TYPE_BOOL:
            if not isinstance(value, bool):
                self.fail(path, "must be true or false")
            return value
        if kind == F.TYPE_ENUM:
            return self.enum(enum_of(field), value, path)
        if kind == F.TYPE_BYTES:
            if not isinstance(value, str):
                self.fail(path, "must be a base64 string")
            return value  # json_format decodes (standard or URL-safe alphabet)
        # a message
        message = message_of(field)
        if message.full_name in _STRINGLY_WKT:
            return self.well_known(message.full_name, value, path)
        return self.message(message, value, path)

    def integer(self, kind: int, value: Any, path: str) -> Any:
        low, high = _INT_RANGES[kind]
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and len(value) <= 40 and _INTEGER_TEXT.match(value.strip()):
            number = int(value.strip())  # (length bounded: Python refuses ints of > 4300 digits)
        if number is None:
            self.fail(path, "must be an integer")
            return value
        if not low <= number <= high:
            self.fail(path, f"must be between {low} and {high}")
        return number

    def number(self, value: Any, path: str) -> Any:
        if isinstance(value, bool):
            self.fail(path, "must be a number")
        elif isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                self.fail(path, "must be a finite number")
        elif isinstance(value, str):
            if value not in _FLOAT_SPECIAL:
                try:
                    float(value)
                except ValueError:
                    self.fail(path, "must be a number")
        else:
            self.fail(path, "must be a number")
        return value

    def enum(self, enum: EnumDescriptor, value: Any, path: str) -> Any:
        accepted = _enum_names(enum)[1]
        key = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(key, str) and key in accepted:
            return accepted[key]
        self.fail(path, f"must be one of: {', '.join(enum_choices(enum))}")
        return value

    def well_known(self, full_name: str, value: Any, path: str) -> Any:
        for text in _strings_in(value):
            if (problem := _text_problem(text)) is not None:
                self.fail(path, problem)
                return value
        if full_name == _FIELD_MASK and isinstance(value, str):
            # json_format wants lowerCamel paths; snake_case clients write snake_case ones.
            return ",".join(_snake_to_camel(p.strip()) for p in value.split(",") if p.strip())
        return value


def _strings_in(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


@cache
def _json_names(message: Descriptor) -> dict[str, FieldDescriptor]:
    """lowerCamel names (proto3 JSON allows both spellings on input)."""
    return {f.json_name: f for f in message.fields if f.json_name != f.name}


# ---------------------------------------------------------------------------------------
# request side
# ---------------------------------------------------------------------------------------


def parse_json(raw: bytes) -> Any:
    """A request body as JSON; empty means `{}` (e.g. `curl -X POST .../users/1:follow`)."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument({"body": f"is not valid UTF-8 (byte {exc.start})"}) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument({"body": f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"}) from None
    except RecursionError:
        raise InvalidArgument({"body": "is nested too deeply"}) from None
    except ValueError as exc:  # e.g. a number of more than 4300 digits
        raise InvalidArgument({"body": f"cannot be read: {exc}"}) from None


def parse_query(raw: bytes) -> list[tuple[str, str]]:
    try:
        text = raw.decode("ascii")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeError:
        raise InvalidArgument("query", message="the query string is not valid percent-encoded UTF-8") from None


def _set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[leaf] = value


def _query_value(field: FieldDescriptor, text: str) -> Any:
    if field.type == F.TYPE_BOOL:
        lowered = text.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    return text


def _query_into(route: Route, pairs: list[tuple[str, str]], data: dict[str, Any], checker: _Checker) -> None:
    allowed = {f.name for f in route.query_fields()}
    repeated: dict[str, list[Any]] = {}
    seen: set[str] = set()
    for name, text in pairs:
        top = name.split(".")[0]
        if top not in allowed:
            if route.field(name) is not None and top in route.path_fields:
                checker.fail(name, "is given by the path")
            elif route.field(name) is not None and top in (route.body, "*"):
                checker.fail(name, "belongs in the JSON body")
            else:
                checker.fail(name, "is not a query parameter of this call")
            continue
        field = route.field(name)
        if field is None or (field.type == F.TYPE_MESSAGE and message_of(field).full_name not in _STRINGLY_WKT):
            checker.fail(name, "is not a query parameter of this call")
            continue
        if field.is_repeated and not _is_map(field):
            repeated.setdefault(name, []).append(_query_value(field, text))
            continue
        if name in seen:
            checker.fail(name, "is given more than once")
            continue
        seen.add(name)
        _set_path(data, name, _query_value(field, text))
    for name, values in repeated.items():
        _set_path(data, name, values)


def _update_mask(route: Route, body: Any, data: dict[str, Any]) -> None:
    """AIP-134 over REST: without an explicit `update_mask`, it names the fields present in
    the body (output-only fields, which clients may echo back, are left out)."""
    mask_field = route.input.fields_by_name.get("update_mask")
    if mask_field is None or mask_field.message_type is None or message_of(mask_field).full_name != _FIELD_MASK:
        return
    if "update_mask" in data or route.body in ("", "*") or not isinstance(body, dict):
        return
    body_field = route.input.fields_by_name[route.body]
    if body_field.type != F.TYPE_MESSAGE:
        return
    target = message_of(body_field)
    paths = []
    for key in body:
        field = target.fields_by_name.get(key) or _json_names(target).get(key)
        if field is not None and not is_output_only(field):
            paths.append(field.name)
    data["update_mask"] = ",".join(paths)


def _field_from_parse_error(message: str) -> str:
    names = []
    rest = message
    while (found := _PARSE_FAILURE.match(rest)) is not None:
        names.append(found.group(1))
        rest = rest[found.end() :]
    return ".".join(names) or "body"


@cache
def message_class(descriptor: Descriptor) -> type[Message]:
    return GetMessageClass(descriptor)


def build_request(
    route: Route,
    *,
    path_values: Mapping[str, str],
    query: list[tuple[str, str]],
    body: Any,
    caller_id: int | None,
    idempotency_key: str | None = None,
) -> Message:
    """The request message of `route`'s RPC, or InvalidArgument naming every bad field."""
    checker = _Checker()
    data: dict[str, Any] = {}
    if route.body == "*":
        data = body if isinstance(body, dict) else {}
        if not isinstance(body, dict):
            checker.fail("body", "must be a JSON object")
    elif route.body:
        data[route.body] = body
    _query_into(route, query, data, checker)
    _update_mask(route, body, data)
    for variable, value in path_values.items():
        # `me` stands for the caller wherever a user id is named in the path.
        if value == "me" and variable.split(".")[-1] == "user_id" and caller_id is not None:
            value = str(caller_id)
        _set_path(data, variable, value)
    if idempotency_key is not None and "request_id" in route.input.fields_by_name:
        data["request_id"] = idempotency_key
    checked = checker.message(route.input, data, "")
    for variable, value in path_values.items():
        if variable in checker.violations and value == "me":
            checker.violations[variable] = "must be a number, or `me` when signed in"
    if checker.violations:
        raise InvalidArgument(checker.violations)
    message = message_class(route.input)()
    try:
        json_format.ParseDict(checked, message)
    except json_format.ParseError as exc:
        field = _field_from_parse_error(str(exc))
        raise InvalidArgument({field: "has a value that cannot be read"}) from None
    return message


# ---------------------------------------------------------------------------------------
# response side
# ---------------------------------------------------------------------------------------


# Prints enum values by their short names at once (no second walk to shorten them).
_printer = Printer(enum_name=short_enum_value)


def response_data(route: Route, response: Message) -> Any:
    """The JSON value answered for `response`: proto3 JSON, snake_case, defaults printed,
    enum values by their short names."""
    data = _printer.to_dict(response)
    if not _printer.planned(route.output) and _has_enums(route.output):
        _shorten(route.output, data)  # json_format printed it: long names
    if route.response_body:
        field = route.output.fields_by_name[route.response_body]
        default: Any = [] if field.is_repeated else ({} if field.type == F.TYPE_MESSAGE else None)
        return data.get(route.response_body, default)
    return data


def dump_json(data: Any) -> bytes:
    """Compact UTF-8 JSON, as json.dumps(ensure_ascii=False, separators=(",", ":")) writes
    it, in C."""
    return orjson.dumps(data)
