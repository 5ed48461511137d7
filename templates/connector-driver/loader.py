"""The driver of `{{component}}`, written by `ocp migrate` over Osiris's connector `{{connector_class}}`.

Osiris {{source_osiris}} ships `{{component}}` as a spec and a connector (`{{connector_path}}`,
an `ILoader`) but names no driver, so `osiris run` cannot use it in a pipeline. This driver
runs the connector through its `ILoader` methods: `append` inserts the rows, `replace` replaces
the table's rows, and `upsert` inserts or updates them by `upsert_keys`. The step's connection
fields override its config, as Osiris's own runner merges them for this connector.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pandas as pd

from .{{connector_module}} import {{connector_class}}

logger = logging.getLogger(__name__)

WRITE_MODES = ("append", "replace", "upsert")


def input_frame(step_id: str, inputs: dict | None) -> pd.DataFrame:
    """The upstream step's DataFrame (`df_<step>`, or `df`)."""
    for key, value in (inputs or {}).items():
        if (key == "df" or key.startswith("df_")) and isinstance(value, pd.DataFrame):
            return value
    raise ValueError(f"Step {step_id}: {{class_name}} needs the DataFrame of an upstream step (`needs:`)")


class {{class_name}}:
    """Writes the upstream DataFrame with `{{connector_class}}`."""

    def run(self, *, step_id: str, config: dict, inputs: dict | None = None, ctx: Any = None) -> dict:
        frame = input_frame(step_id, inputs)
        settings = {key: value for key, value in config.items() if key != "resolved_connection"}
        settings.update(config.get("resolved_connection") or {})
        table = settings.get("table")
        if not table:
            raise ValueError(f"Step {step_id}: 'table' is required in config")
        # Osiris puts the OML step mode (`write`) in `mode` unless the step sets a write mode.
        mode = settings.get("mode") if settings.get("mode") in WRITE_MODES else "append"
        settings["mode"] = mode
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")

        async def write() -> None:
            loader = {{connector_class}}(settings)
            try:
                if mode == "replace":
                    await loader.replace_table(table, rows)
                elif mode == "upsert":
                    await loader.upsert_data(table, rows, settings.get("upsert_keys") or None)
                else:
                    await loader.insert_data(table, rows)
            finally:
                await loader.disconnect()

        asyncio.run(write())
        logger.info("Step %s: wrote %d rows to %s (%s)", step_id, len(rows), table, mode)
        if ctx is not None and hasattr(ctx, "log_metric"):
            ctx.log_metric("rows_written", len(rows))
        return {}
