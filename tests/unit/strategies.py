"""Hypothesis settings and JSON-like values shared by the property tests."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every machine: no flaky CI
    database=None,  # write nothing outside tests/unit
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Printable ASCII plus two non-ASCII letters. Control and exotic Unicode characters are left
# out on purpose: Python's `re` (jsonschema), Rust's regex (pydantic) and Go's RE2 (the API
# server) disagree on which of them `\s` matches, and that is not what these properties test.
ALPHABET = string.printable + "éΩ"
Json = Any

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(alphabet=ALPHABET, max_size=24)
)
json_values: st.SearchStrategy[Json] = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet=ALPHABET, max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
