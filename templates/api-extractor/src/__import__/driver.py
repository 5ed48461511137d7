"""Driver for `{{component}}`: reads one resource from a paginated JSON API."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import requests

from . import connection as connections

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100
DEFAULT_TIMEOUT = 30
# A guard against an API whose `next` links never end.
MAX_PAGES = 10_000


class {{class_name}}:
    """Extracts records from the {{family_title}} API into a DataFrame.

    The API is expected to answer `GET {base_url}/{resource}?limit=N` with either a list of
    records or an object holding the records under the resource name (or `data`) and an
    optional `next` URL for the following page.

    The step's connection (from `osiris_connections.yaml`) provides `base_url`, unless the
    step sets it, and `api_key`, which only ever comes from there: the compiler removes secrets
    from step configs.
    """

    def __init__(self, session: requests.Session | None = None) -> None:
        self._session = session

    def run(self, *, step_id: str, config: dict, inputs: dict | None = None, ctx: Any = None) -> dict:
        connection, problem = connections.resolve(config)
        base_url = config.get("base_url") or connection.get("base_url")
        if not base_url:
            raise connections.missing(step_id, "base_url", problem)
        api_key = connection.get("api_key")
        resource = str(config["resource"])
        page_size = int(config.get("page_size", DEFAULT_PAGE_SIZE))
        timeout = float(config.get("timeout", DEFAULT_TIMEOUT))
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"

        session = self._session or requests.Session()
        records: list[dict] = []
        url: str | None = f"{str(base_url).rstrip('/')}/{resource}"
        params: dict | None = {"limit": page_size}
        pages = 0
        while url:
            if pages >= MAX_PAGES:
                raise RuntimeError(f"step {step_id}: stopped after {MAX_PAGES} pages of {resource}")
            response = session.get(url, headers=headers, params=params, timeout=timeout)
            response.raise_for_status()
            payload = response.json()
            records.extend(_records(payload, resource))
            url = payload.get("next") if isinstance(payload, dict) else None
            params = None  # the `next` URL carries its own query
            pages += 1

        df = pd.DataFrame.from_records(records)
        if ctx is not None and hasattr(ctx, "log_metric"):
            ctx.log_metric("rows_read", len(df))
        logger.info("step %s: read %d rows of %s in %d pages", step_id, len(df), resource, pages)
        return {"df": df}


def _records(payload: Any, resource: str) -> list[dict]:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in (resource, "data", "items", "results"):
            if isinstance(payload.get(key), list):
                return payload[key]
    raise ValueError(f"unexpected response shape for {resource}: {type(payload).__name__}")
