"""Payloads for every OCPP 1.6 and 2.0.1 schema file: valid ones, and every way to break them.

Built from the schema files the ``ocpp`` library ships (the ones it validates against), by a
small walker that knows the keywords those files use: type, enum, properties, required,
additionalProperties, items, minItems, maxItems, maxLength, minimum, maximum, multipleOf
and local ``$ref`` (Draft 4: a ``$ref`` replaces its siblings).

- :func:`instance`: a deterministic valid payload, with only the required fields or with all.
- :func:`mutations`: that payload broken (or, at boundaries, kept valid) at one place:
  a required field missing, an extra field, each JSON type in place of the right one, a
  string one character too long (also in non-ASCII), a bad enum value, numbers out of range,
  non-integers, NaN/Infinity, 10**400, too few/many array items.
- :func:`payloads`: a hypothesis strategy of mostly valid payloads with perturbations at any
  depth (the ``hypothesis-jsonschema`` package does not run with the installed hypothesis).
"""

from __future__ import annotations

import copy
import json
import math
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable, Iterator

from hypothesis import strategies as st
from ocpp.messages import MessageType

from agent.ocppj.validation import schema_path

VERSIONS = {"1.6": "v16", "2.0.1": "v201"}
DATE_TIME = "2025-01-01T00:00:00Z"
EXTRA_KEY = "unexpectedField"


@dataclass(frozen=True)
class Schema:
    version: str
    message_type_id: int
    action: str
    path: Path

    @property
    def root(self) -> dict:
        return _load(self.path)

    def __str__(self) -> str:
        return f"{self.version}/{self.path.stem}"


@cache
def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def all_schemas() -> list[Schema]:
    """Every schema file of OCPP 1.6 and 2.0.1 in the library, as (message type, action)."""
    found = []
    for version, folder in VERSIONS.items():
        directory = schema_path(MessageType.Call, "X", version).parent
        assert directory.name == "schemas" and directory.parent.name == folder
        for path in sorted(directory.glob("*.json")):
            name = path.stem
            if name.endswith("Response"):
                kind, action = MessageType.CallResult, name.removesuffix("Response")
            elif version == "1.6":
                kind, action = MessageType.Call, name
            else:
                assert name.endswith("Request"), path
                kind, action = MessageType.Call, name.removesuffix("Request")
            assert schema_path(kind, action, version) == path
            found.append(Schema(version, kind, action, path))
    return found


def resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:  # Draft 4: siblings of $ref are ignored
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = root
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def _types(node: dict) -> list[str]:
    kind = node.get("type")
    if kind is None:
        return []
    return kind if isinstance(kind, list) else [kind]


def instance(node: dict, root: dict, *, full: bool) -> Any:
    """A valid payload: required fields only, or every field (strings at their maxLength)."""
    node = resolve(node, root)
    if "enum" in node:
        return node["enum"][-1 if full else 0]
    kind = (_types(node) or ["object"])[0]
    if kind == "object":
        properties = node.get("properties", {})
        names = list(properties) if full else node.get("required", [])
        return {name: instance(properties[name], root, full=full) for name in names}
    if kind == "array":
        count = max(node.get("minItems", 0), 1)
        count = min(count, node.get("maxItems", count))
        return [instance(node.get("items", {}), root, full=full) for _ in range(count)]
    if kind == "string":
        if node.get("format") == "date-time":
            return DATE_TIME
        limit = node.get("maxLength")
        if full and limit:
            return "é" * limit  # the limit counts characters, not bytes
        return "ab"[: limit or 2]
    if kind == "integer":
        return node.get("minimum", 1)
    if kind == "number":
        return 1.5  # a multiple of 0.1
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    raise AssertionError(f"unknown type {kind!r}")


def nodes(value: Any, node: dict, root: dict, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """(path, resolved schema) of every place in ``value``, depth first."""
    node = resolve(node, root)
    yield path, node
    if isinstance(value, dict):
        properties = node.get("properties", {})
        for key, item in value.items():
            if key in properties:
                yield from nodes(item, properties[key], root, path + (key,))
    elif isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            yield from nodes(item, node["items"], root, path + (index,))


def _at(value: Any, path: tuple) -> Any:
    for part in path:
        value = value[part]
    return value


def apply(payload: Any, *edits: tuple[tuple, Callable[[Any], Any]]) -> Any:
    """``payload`` with each edit (path, function of the value there) applied, deepest first."""
    result = copy.deepcopy(payload)
    for path, edit in sorted(edits, key=lambda e: -len(e[0])):
        new = edit(copy.deepcopy(_at(result, path)))
        if not path:
            result = new
        else:
            _at(result, path[:-1])[path[-1]] = new
    return result


WRONG_TYPES = [None, True, 1, 1.0, 1.5, "1", [], {"a": 1}]


def replacements(node: dict, current: Any) -> list[Any]:
    """Values to put where ``node`` is expected: valid at the boundaries, or wrong."""
    out = list(WRONG_TYPES)
    types = _types(node)
    if "enum" in node:
        first = node["enum"][0]
        out += ["NotInTheEnum", f"{first} ", str(first).lower()]
    if "string" in types:
        limit = node.get("maxLength")
        if limit:
            out += ["a" * (limit + 1), "é" * (limit + 1), "😀" * limit]
        out += ["not a date"]
    if "integer" in types or "number" in types:
        out += [-1, 2**63, 10**400, 0.1, 0.15, 2.0, 1e27, math.nan, math.inf]
        for bound in ("minimum", "maximum"):
            if bound in node:
                out += [node[bound] - 1, node[bound] + 1]
    if "array" in types and isinstance(current, list):
        out += [[], current * 3, current + [None]]
        if "maxItems" in node and current:
            out += [current[:1] * node["maxItems"], current[:1] * (node["maxItems"] + 1)]
    return out


def _without(key: str) -> Callable[[dict], dict]:
    return lambda target: {k: v for k, v in target.items() if k != key}


def _plus(extra: dict) -> Callable[[dict], dict]:
    return lambda target: {**target, **extra}


def edits(payload: Any, schema: Schema) -> list[tuple[tuple, Callable[[Any], Any]]]:
    """Every single change to ``payload`` the corpus makes: (path, function of the value there)."""
    root = schema.root
    found = []
    for path, node in list(nodes(payload, root, root)):
        current = _at(payload, path)
        for new in replacements(node, current):
            found.append((path, lambda _, new=new: copy.deepcopy(new)))
        if isinstance(current, dict):
            for key in current:
                found.append((path, _without(key)))
            found.append((path, _plus({EXTRA_KEY: 1})))
            found.append((path, _plus({EXTRA_KEY: None})))
            for key in node.get("required", []):
                if key in current:
                    # a missing field and an extra one: which is reported first depends on order
                    found.append((path, lambda target, key=key: {**_without(key)(target), EXTRA_KEY: 1}))
    return found


def mutations(payload: Any, schema: Schema) -> Iterator[Any]:
    """``payload`` changed at one place, every place, every way in :func:`edits`."""
    for edit in edits(payload, schema):
        yield apply(payload, edit)


def paired_mutations(payload: Any, schema: Schema, count: int, seed: int) -> Iterator[Any]:
    """Two changes at once, ``count`` pairs drawn reproducibly (several errors in one payload)."""
    singles = edits(payload, schema)
    rng = random.Random(seed)
    for _ in range(count):
        try:
            yield apply(payload, rng.choice(singles), rng.choice(singles))
        except (KeyError, IndexError, TypeError, AttributeError):
            continue  # the first change removed the place of the other, or its dict


# ---- hypothesis -------------------------------------------------------------------------

any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)


def _rarely(valid: st.SearchStrategy, *others: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly ``valid``; one draw in 12 from the others."""
    return st.integers(0, 11).flatmap(lambda n: st.one_of(*others) if n == 0 else valid)


def payloads(schema: Schema) -> st.SearchStrategy:
    """Mostly valid payloads for ``schema``, perturbed here and there at any depth."""
    return _strategy(schema.path, "#")


@cache
def _strategy(path: Path, pointer: str) -> st.SearchStrategy:
    root = _load(path)
    node = root
    if pointer != "#":
        for part in pointer[2:].split("/"):
            node = node[part]
    return _node_strategy(node, root, path, pointer)


def _child(path: Path, pointer: str, node: dict) -> st.SearchStrategy:
    if "$ref" in node:
        return st.deferred(lambda: _strategy(path, node["$ref"]))
    return _node_strategy(node, _load(path), path, pointer)


def _node_strategy(node: dict, root: dict, path: Path, pointer: str) -> st.SearchStrategy:
    if "$ref" in node:
        return _child(path, pointer, node)
    types = _types(node) or ["object"]
    kind = types[0]
    if "enum" in node:
        valid = st.sampled_from(node["enum"])
        return _rarely(valid, st.text(max_size=12), any_json)
    if kind == "object":
        properties = node.get("properties", {})
        required = [k for k in node.get("required", []) if k in properties]
        children = {k: _child(path, f"{pointer}/properties/{k}", v) for k, v in properties.items()}
        valid = st.fixed_dictionaries(
            {k: children[k] for k in required},
            optional={k: s for k, s in children.items() if k not in required},
        )
        broken = [any_json, valid.map(lambda d: {**d, EXTRA_KEY: 1}),
                  st.dictionaries(st.text(max_size=8), any_json, max_size=3).flatmap(
                      lambda extra: valid.map(lambda d: {**extra, **d}))]
        if required:
            broken.append(st.tuples(valid, st.sampled_from(required)).map(
                lambda t: {k: v for k, v in t[0].items() if k != t[1]}))
        return _rarely(valid, *broken)
    if kind == "array":
        items = _child(path, f"{pointer}/items", node.get("items", {}))
        low = node.get("minItems", 0)
        high = min(node.get("maxItems", low + 3), low + 3)
        valid = st.lists(items, min_size=low, max_size=high)
        return _rarely(valid, any_json, st.lists(items, max_size=high + 2))
    if kind == "string":
        limit = node.get("maxLength")
        if node.get("format") == "date-time":
            valid = st.just(DATE_TIME) | st.datetimes().map(lambda d: d.isoformat() + "Z")
        else:
            valid = st.text(max_size=limit if limit is not None else 40)
        # Around the limit; a long limit (10000 characters) is padded, since hypothesis does not
        # draw strings that long itself.
        near = st.text(max_size=3).map(lambda tail, n=(limit or 0): "x" * n + tail)
        return _rarely(valid, any_json, near)
    if kind in ("integer", "number"):
        low, high = node.get("minimum"), node.get("maximum")
        valid = st.integers(min_value=low, max_value=high)
        if kind == "number":
            valid = valid | st.integers(-100_000, 100_000).map(lambda n: n / 10) | st.floats(
                min_value=low, max_value=high, allow_nan=False)
        return _rarely(valid, any_json, st.floats(), st.integers())
    if kind == "boolean":
        return _rarely(st.booleans(), any_json)
    raise AssertionError(f"unknown type {kind!r} in {path}")
