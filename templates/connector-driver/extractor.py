"""The driver of `{{component}}`, written by `ocp migrate` over Osiris's connector `{{connector_class}}`.

Osiris {{source_osiris}} ships `{{component}}` as a spec and a connector (`{{connector_path}}`,
an `IExtractor`) but names no driver, so `osiris run` cannot use it in a pipeline. This driver
runs the connector through its `IExtractor` methods: with `query`, `execute_query`; otherwise it
reads at most `limit` rows (default {{default_limit}}) of `table` with `sample_table`. The step's
connection fields override its config, as Osiris's own runner merges them for this connector.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .{{connector_module}} import {{connector_class}}

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = {{default_limit}}


class {{class_name}}:
    """Reads rows with `{{connector_class}}`."""

    def run(self, *, step_id: str, config: dict, inputs: dict | None = None, ctx: Any = None) -> dict:
        settings = {key: value for key, value in config.items() if key != "resolved_connection"}
        settings.update(config.get("resolved_connection") or {})
        query = settings.get("query")
        table = settings.get("table")
        if not query and not table:
            raise ValueError(f"Step {step_id}: 'query' or 'table' is required in config")

        async def read():
            extractor = {{connector_class}}(settings)
            try:
                if query:
                    return await extractor.execute_query(query)
                return await extractor.sample_table(table, int(settings.get("limit") or DEFAULT_LIMIT))
            finally:
                await extractor.disconnect()

        frame = asyncio.run(read())
        logger.info("Step %s: read %d rows", step_id, len(frame))
        if ctx is not None and hasattr(ctx, "log_metric"):
            ctx.log_metric("rows_read", len(frame))
        return {"df": frame}
