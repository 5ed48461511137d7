"""Queries run over the input DataFrame; bad SQL is reported clearly."""

from __future__ import annotations

import pandas as pd
import pytest

from {{import_name}}.driver import {{class_name}}


class Metrics:
    def __init__(self) -> None:
        self.values: dict = {}

    def log_metric(self, name, value) -> None:
        self.values[name] = value


def test_filters_the_input() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "total": [50, 150, 300]})
    ctx = Metrics()
    result = {{class_name}}().run(
        step_id="t", config={"query": "SELECT id FROM input_df WHERE total >= 100 ORDER BY id"}, inputs={"df": frame}, ctx=ctx
    )
    assert list(result["df"]["id"]) == [2, 3]
    assert ctx.values == {"rows_read": 3, "rows_written": 2}


def test_df_prefixed_input_keys_are_accepted() -> None:
    frame = pd.DataFrame({"x": [1, 2]})
    result = {{class_name}}().run(step_id="t", config={"query": "SELECT sum(x) AS s FROM input_df"}, inputs={"df_extract": frame})
    assert result["df"]["s"].iloc[0] == 3


def test_runs_without_input() -> None:
    result = {{class_name}}().run(step_id="t", config={"query": "SELECT 42 AS answer"})
    assert result["df"]["answer"].iloc[0] == 42


def test_bad_sql_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="query failed"):
        {{class_name}}().run(step_id="t", config={"query": "SELEC nonsense"}, inputs={"df": pd.DataFrame({"x": [1]})})


def test_empty_query_is_refused() -> None:
    with pytest.raises(ValueError, match="query is required"):
        {{class_name}}().run(step_id="t", config={"query": "  "})
