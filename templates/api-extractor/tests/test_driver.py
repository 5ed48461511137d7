"""The driver follows pagination, authenticates, and reports failures."""

from __future__ import annotations

import pytest
import requests

from {{import_name}}.driver import {{class_name}}

# As Osiris passes it: the connection under `resolved_connection`, the step's own settings beside it.
CONFIG = {
    "mode": "extract",
    "resource": "customers",
    "page_size": 2,
    "resolved_connection": {"base_url": "https://api.example.com/v1/", "api_key": "test-key"},
}


class FakeResponse:
    def __init__(self, payload, status: int = 200) -> None:
        self._payload = payload
        self.status_code = status

    def json(self):
        return self._payload

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code} error")


class FakeSession:
    """Answers GET requests from a dict of URL -> response, recording each call."""

    def __init__(self, pages: dict) -> None:
        self.pages = pages
        self.calls: list[dict] = []

    def get(self, url, headers=None, params=None, timeout=None):
        self.calls.append({"url": url, "headers": headers, "params": params, "timeout": timeout})
        return self.pages[url]


class Metrics:
    def __init__(self) -> None:
        self.values: dict = {}

    def log_metric(self, name, value) -> None:
        self.values[name] = value


def test_reads_every_page_into_a_dataframe() -> None:
    session = FakeSession(
        {
            "https://api.example.com/v1/customers": FakeResponse(
                {"customers": [{"id": 1}, {"id": 2}], "next": "https://api.example.com/v1/customers?page=2"}
            ),
            "https://api.example.com/v1/customers?page=2": FakeResponse({"customers": [{"id": 3}]}),
        }
    )
    ctx = Metrics()
    result = {{class_name}}(session=session).run(step_id="extract-1", config=CONFIG, inputs=None, ctx=ctx)

    assert list(result["df"]["id"]) == [1, 2, 3]
    assert ctx.values["rows_read"] == 3
    assert session.calls[0]["params"] == {"limit": 2}
    assert session.calls[0]["headers"]["Authorization"] == "Bearer test-key"
    assert session.calls[1]["params"] is None


def test_a_plain_list_response_is_one_page() -> None:
    session = FakeSession({"https://api.example.com/v1/customers": FakeResponse([{"id": 7}])})
    result = {{class_name}}(session=session).run(step_id="s", config=CONFIG)
    assert list(result["df"]["id"]) == [7]


def test_a_step_base_url_overrides_the_connection() -> None:
    session = FakeSession({"https://other.example.com/customers": FakeResponse([{"id": 8}])})
    config = {**CONFIG, "base_url": "https://other.example.com"}
    result = {{class_name}}(session=session).run(step_id="s", config=config)
    assert list(result["df"]["id"]) == [8]
    assert session.calls[0]["headers"]["Authorization"] == "Bearer test-key"


def test_an_api_key_in_the_step_config_is_not_used() -> None:
    session = FakeSession({"https://api.example.com/v1/customers": FakeResponse([])})
    config = {"resource": "customers", "api_key": "inline-test-key", "resolved_connection": {"base_url": "https://api.example.com/v1"}}
    {{class_name}}(session=session).run(step_id="s", config=config)
    assert "Authorization" not in session.calls[0]["headers"]


def test_no_base_url_anywhere_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OSIRIS_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="base_url is missing"):
        {{class_name}}(session=FakeSession({})).run(step_id="s", config={"resource": "customers"})


def test_without_resolved_connection_the_default_connection_is_resolved(tmp_path, monkeypatch) -> None:
    # Osiris before 0.5.7 passes no resolved_connection to third-party components.
    (tmp_path / "osiris_connections.yaml").write_text(
        "version: 1\nconnections:\n  {{family}}:\n    main:\n      default: true\n"
        "      base_url: https://api.example.com/v1\n      api_key: ${OCP_EXAMPLE_API_KEY}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OSIRIS_HOME", str(tmp_path))
    monkeypatch.setenv("OCP_EXAMPLE_API_KEY", "test-key")
    session = FakeSession({"https://api.example.com/v1/customers": FakeResponse([{"id": 9}])})
    result = {{class_name}}(session=session).run(step_id="s", config={"resource": "customers"})
    assert list(result["df"]["id"]) == [9]
    assert session.calls[0]["headers"]["Authorization"] == "Bearer test-key"


def test_http_errors_propagate() -> None:
    session = FakeSession({"https://api.example.com/v1/customers": FakeResponse({}, status=401)})
    with pytest.raises(requests.HTTPError):
        {{class_name}}(session=session).run(step_id="s", config=CONFIG)


def test_unexpected_payload_is_an_error() -> None:
    session = FakeSession({"https://api.example.com/v1/customers": FakeResponse({"weird": 1})})
    with pytest.raises(ValueError, match="unexpected response shape"):
        {{class_name}}(session=session).run(step_id="s", config=CONFIG)
