"""Driver for `{{component}}`: runs a SQL query over the input DataFrame with DuckDB."""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import pandas as pd

logger = logging.getLogger(__name__)

INPUT_TABLE = "input_df"


class {{class_name}}:
    """Transforms a DataFrame with SQL; the input is the table `input_df`."""

    def run(self, *, step_id: str, config: dict, inputs: dict | None = None, ctx: Any = None) -> dict:
        query = str(config.get("query", "")).strip()
        if not query:
            raise ValueError(f"step {step_id}: query is required")
        frame = _input_frame(inputs)

        connection = duckdb.connect(":memory:")
        try:
            if frame is not None:
                connection.register(INPUT_TABLE, frame)
            result = connection.execute(query).fetchdf()
        except duckdb.Error as error:
            raise ValueError(f"step {step_id}: query failed: {error}") from error
        finally:
            connection.close()

        if ctx is not None and hasattr(ctx, "log_metric"):
            ctx.log_metric("rows_read", 0 if frame is None else len(frame))
            ctx.log_metric("rows_written", len(result))
        logger.info("step %s: query returned %d rows", step_id, len(result))
        return {"df": result}


def _input_frame(inputs: dict | None) -> pd.DataFrame | None:
    """The DataFrame Osiris passes in, under `df` or a `df_<step>` key, if any."""
    for key, value in (inputs or {}).items():
        if (key == "df" or key.startswith("df_")) and isinstance(value, pd.DataFrame):
            return value
    return None
