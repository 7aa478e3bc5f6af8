"""The TOML writer that carries a fleet host's merge to the host: tomllib reads back exactly
the tables written, whatever the keys and strings hold."""

from __future__ import annotations

import datetime
import math
import tomllib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.tomlout import dumps, value

SCALARS = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
TABLES = st.dictionaries(st.text(min_size=1), VALUES, max_size=5)
DOCUMENTS = st.dictionaries(
    st.text(min_size=1), st.dictionaries(st.text(min_size=1), TABLES, min_size=1, max_size=3),
    max_size=3,
)  # fmt: skip


@given(DOCUMENTS)
def test_tomllib_reads_back_exactly_the_tables_written(document: dict[str, Any]) -> None:
    assert tomllib.loads(dumps(document)) == document


@pytest.mark.parametrize(
    ("item", "text"),
    [
        (True, "true"),
        (1.5, "1.5"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        ("a\x7fb\x00", '"a\\u007fb\\u0000"'),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
        ({"a b": [1, {"c": "d"}]}, '{"a b" = [1, {c = "d"}]}'),
        (datetime.date(2026, 11, 30), "2026-11-30"),
    ],
)
def test_each_value_is_written_as_toml_writes_it(item: Any, text: str) -> None:
    assert value(item) == text
    assert tomllib.loads(f"x = {text}")["x"] == item


def test_not_a_number_stays_not_a_number() -> None:
    assert math.isnan(tomllib.loads(f"x = {value(float('nan'))}")["x"])


def test_a_value_toml_has_no_form_for_is_refused() -> None:
    with pytest.raises(TypeError, match="set"):
        value({1, 2})
