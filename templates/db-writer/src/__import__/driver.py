"""Driver for `{{component}}`: writes a DataFrame to a table (append, replace or upsert)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import sqlalchemy as sa

from . import connection as connections

logger = logging.getLogger(__name__)

WRITE_MODES = ("append", "replace", "upsert")
DEFAULT_BATCH_SIZE = 1000


class {{class_name}}:
    """Writes the DataFrame from the previous step to a {{family_title}} table.

    The step's connection (from `osiris_connections.yaml`) provides `url`, unless the step
    sets it, and `password`, which only ever comes from there. `config["mode"]` is the OML
    step mode (`write`); how rows are written is `write_mode`.
    """

    def __init__(self, engine: sa.engine.Engine | None = None) -> None:
        self._engine = engine

    def run(self, *, step_id: str, config: dict, inputs: dict | None = None, ctx: Any = None) -> dict:
        df = _input_frame(step_id, inputs)
        table = str(config["table"])
        schema = config.get("schema")
        write_mode = str(config.get("write_mode") or "append")
        batch_size = int(config.get("batch_size", DEFAULT_BATCH_SIZE))
        if write_mode not in WRITE_MODES:
            raise ValueError(f"step {step_id}: write_mode must be one of {', '.join(WRITE_MODES)}, not {write_mode!r}")
        primary_key = list(config.get("primary_key") or [])
        if write_mode == "upsert" and not primary_key:
            raise ValueError(f"step {step_id}: primary_key is required when write_mode is upsert")
        missing = [column for column in primary_key if column not in df.columns]
        if missing:
            raise ValueError(f"step {step_id}: primary_key columns missing from the input: {', '.join(missing)}")

        engine = self._engine or _engine_from_config(step_id, config)
        with engine.begin() as connection:
            if write_mode == "upsert" and sa.inspect(connection).has_table(table, schema=schema):
                _delete_matching(connection, table, schema, df, primary_key, batch_size)
            if_exists = "replace" if write_mode == "replace" else "append"
            df.to_sql(table, connection, schema=schema, if_exists=if_exists, index=False, chunksize=batch_size)

        if ctx is not None and hasattr(ctx, "log_metric"):
            ctx.log_metric("rows_written", len(df))
        logger.info("step %s: wrote %d rows to %s (%s)", step_id, len(df), table, write_mode)
        return {}

    def discover(self, *, config: dict, ctx: Any = None) -> dict:
        """Lists the tables and their columns (`osiris components discover {{component}}`)."""
        engine = self._engine or _engine_from_config("discover", config)
        inspector = sa.inspect(engine)
        schema = config.get("schema")
        resources = []
        for table in sorted(inspector.get_table_names(schema=schema)):
            columns = inspector.get_columns(table, schema=schema)
            resources.append(
                {
                    "name": table,
                    "type": "table",
                    "schema": {column["name"]: {"type": str(column["type"])} for column in columns},
                }
            )
        return {"resources": resources, "discovered_at": datetime.now(timezone.utc).isoformat()}


def _input_frame(step_id: str, inputs: dict | None) -> pd.DataFrame:
    """The DataFrame Osiris passes in, under `df` or a `df_<step>` key."""
    for key, value in (inputs or {}).items():
        if (key == "df" or key.startswith("df_")) and isinstance(value, pd.DataFrame):
            return value
    raise ValueError(f"step {step_id}: expected a DataFrame under 'df' in inputs, got {sorted(inputs or {})}")


def _engine_from_config(step_id: str, config: dict) -> sa.engine.Engine:
    connection, problem = connections.resolve(config)
    url = config.get("url") or connection.get("url")
    if not url:
        raise connections.missing(step_id, "url", problem)
    url = sa.engine.make_url(url)
    if connection.get("password"):
        url = url.set(password=connection["password"])
    return sa.create_engine(url)


def _delete_matching(connection, table: str, schema: str | None, df: pd.DataFrame, key: list[str], batch_size: int) -> None:
    """Deletes the rows that the upsert replaces, in the same transaction as the insert."""
    target = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=connection)
    condition = sa.and_(*[target.c[column] == sa.bindparam(f"key_{column}") for column in key])
    statement = target.delete().where(condition)
    rows = [{f"key_{column}": value for column, value in zip(key, values)} for values in df[key].itertuples(index=False)]
    for start in range(0, len(rows), batch_size):
        connection.execute(statement, rows[start : start + batch_size])
