"""End to end: Osiris runs a pipeline that reads two pages from a local API into a CSV file."""

from __future__ import annotations

import csv
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

COMPONENT = "{{component}}"
API_KEY = "end-to-end-test-key"  # pragma: allowlist secret
CUSTOMERS = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}, {"id": 3, "name": "Edsger"}]


class Api(BaseHTTPRequestHandler):
    """`GET /v1/customers?limit=N[&page=P]`, with a `next` link while records remain."""

    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        Api.requests.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self.answer(401, {"error": "unauthorized"})
        url = urlparse(self.path)
        if url.path != "/v1/customers":
            return self.answer(404, {"error": "not found"})
        query = parse_qs(url.query)
        limit = int(query.get("limit", ["100"])[0])
        page = int(query.get("page", ["1"])[0])
        start = (page - 1) * limit
        body: dict = {"customers": CUSTOMERS[start : start + limit]}
        if start + limit < len(CUSTOMERS):
            body["next"] = f"http://127.0.0.1:{self.server.server_port}/v1/customers?limit={limit}&page={page + 1}"
        self.answer(200, body)

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api():
    Api.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def pipeline(output: str) -> list[dict]:
    return [
        {
            "id": "extract-customers",
            "component": COMPONENT,
            "mode": "read",
            "config": {"connection": "@{{family}}.main", "resource": "customers", "page_size": 2},
        },
        {
            "id": "write-customers",
            "component": "filesystem.csv_writer",
            "mode": "write",
            "needs": ["extract-customers"],
            "config": {"path": output},
        },
    ]


def connections(base_url: str) -> dict:
    # The key is read from the environment when Osiris resolves the connection.
    return {"{{family}}": {"main": {"default": True, "base_url": base_url, "api_key": "{{api_key_ref}}"}}}


def test_osiris_runs_a_pipeline_that_reads_every_page(osiris_project, api) -> None:
    output = osiris_project.path("customers.csv")
    osiris_project.run_ok(pipeline(str(output)), connections(api), env={"{{family_env}}_API_KEY": API_KEY})

    with output.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(row["id"], row["name"]) for row in rows] == [("1", "Ada"), ("2", "Grace"), ("3", "Edsger")]
    assert Api.requests == ["/v1/customers?limit=2", "/v1/customers?limit=2&page=2"]


def test_a_wrong_key_fails_the_run(osiris_project, api) -> None:
    output = osiris_project.path("customers.csv")
    result = osiris_project.run(pipeline(str(output)), connections(api), env={"{{family_env}}_API_KEY": "wrong-test-key"})

    assert result.returncode != 0
    assert not output.exists()
