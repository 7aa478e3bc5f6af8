"""Reading compose YAML as docker compose reads it, and safely.

docker compose reads YAML 1.2 (go-yaml v3): `yes`, `no`, `on` and `off` are strings, `80:80` is a
string (YAML 1.1 makes it the number 4880), `0777` is decimal, dates are strings, a key given twice
is an error, and non-string keys are read as their text. PyYAML speaks YAML 1.1, so its resolver
is replaced by the 1.2 core schema. Hostile input is refused with a message, never a traceback:
a file over MAX_BYTES, an alias bomb (a document whose aliases expand past MAX_NODES), a
recursive alias, nesting deeper than MAX_DEPTH, and tags PyYAML's safe loader does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

MAX_BYTES = 4 * 2**20
MAX_NODES = 250_000
MAX_DEPTH = 64

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlError(ValueError):
    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Reset:
    """`!reset`: the value an earlier file gave this key is dropped."""


@dataclass(frozen=True)
class Override:
    """`!override VALUE`: replaces an earlier file's value instead of merging with it."""

    value: Any


class _Loader(_Base):  # type: ignore[misc]
    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}


def _resolver(tag: str, pattern: str, first: str) -> None:
    _Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))


_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789")
_resolver(
    "tag:yaml.org,2002:float",
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    "-+0123456789.",
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_resolver("tag:yaml.org,2002:merge", r"^(?:<<)$", "<")


def _int(loader: Any, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _mapping(loader: Any, node: yaml.MappingNode) -> dict[str, Any]:
    seen: set[str] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            if key_node.value in seen:
                mark = key_node.start_mark
                raise YamlError(
                    f"key {key_node.value!r} is given twice in one mapping",
                    mark.line + 1,
                    mark.column + 1,
                )
            seen.add(key_node.value)
    loader.flatten_mapping(node)
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            mark = key_node.start_mark
            raise YamlError("expected a plain key, got a list or mapping", mark.line + 1)
        # go-yaml reads every key of a compose file as a string: 8080, true and null as written
        result[str(key_node.value)] = loader.construct_object(value_node, deep=True)
    return result


def _reset(loader: Any, node: yaml.Node) -> Reset:
    return Reset()


def _override(loader: Any, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(_mapping(loader, node))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    return Override(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("!reset", _reset)
_Loader.add_constructor("!override", _override)


def read_documents(text: str) -> list[Any]:
    """The documents of a YAML text, as plain trees: dicts with str keys, lists, scalars, and the
    Reset/Override markers; each tree a fresh copy whose size is bounded."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlError(f"the file is larger than {MAX_BYTES // 2**20} MiB")
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise YamlError(f"YAML syntax error: {message}", line, column) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"YAML error: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise YamlError(f"the YAML nests deeper than {MAX_DEPTH} levels") from None
    budget = _Budget()
    return [budget.copy(doc, 0) for doc in documents]


class _Budget:
    """Copies a tree, counting every node it visits: aliases make a shared node appear many times
    (a billion laughs), and a recursive alias infinitely often; both end at MAX_NODES."""

    def __init__(self) -> None:
        self.nodes = 0

    def copy(self, value: Any, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlError(
                f"the YAML expands to more than {MAX_NODES} values (an alias bomb, or a "
                "recursive alias?)"
            )
        if depth > MAX_DEPTH:
            raise YamlError(f"the YAML nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            return {key: self.copy(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list):
            return [self.copy(item, depth + 1) for item in value]
        if isinstance(value, Override):
            return Override(self.copy(value.value, depth + 1))
        return value
