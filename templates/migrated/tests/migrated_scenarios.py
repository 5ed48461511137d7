"""Real Osiris pipelines that exercise components migrated from Osiris's built-ins.

Each scenario starts from the same orders, runs one pipeline with `osiris run` (local
execution) in a temporary project, and reads back what the component produced: the CSV a
`filesystem.csv_writer` step wrote, or the rows a writer left in its database table.
`tests/test_pipeline.py` compares those rows with what the component must produce;
`ocp migrate --verify` runs the same scenario once with Osiris's built-in and once with the
migrated component and compares the two, row for row.

A scenario that needs a server (MySQL) takes its connection from an `osiris_connections.yaml`
whose path is in `OSIRIS_TEST_CONNECTIONS`; without one it raises `Unavailable`, whose message
says what is missing. A GraphQL endpoint is served locally by the scenario itself.
"""

from __future__ import annotations

import abc
import contextlib
import csv
import json
import os
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

# A pipeline that hangs (a server that never answers) fails instead of stalling the tests.
RUN_TIMEOUT_SECONDS = 300
CONNECTIONS_VARIABLE = "OSIRIS_TEST_CONNECTIONS"

COLUMNS = ["id", "customer", "city", "amount"]
# Quotes, commas, accents and an empty value: what a CSV round trip most often gets wrong.
ORDERS = [
    {"id": "1", "customer": "Ada Lovelace", "city": "London", "amount": "120.50"},
    {"id": "2", "customer": "Grace Hopper", "city": "New York, NY", "amount": "75"},
    {"id": "3", "customer": "Alan Turing", "city": "Wilmslow", "amount": "9.99"},
    {"id": "4", "customer": 'Dorothy "Dot" Vaughan', "city": "Hampton", "amount": "310.00"},
    {"id": "5", "customer": "Émilie du Châtelet", "city": "Paris", "amount": ""},
]


class Unavailable(Exception):
    """The scenario cannot run here; the message says what it needs."""


@dataclass
class Outcome:
    """Rows a pipeline left, as text, with their column names."""

    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def normalized(self) -> list[dict[str, str]]:
        """Rows as dicts, numbers written one way (`75.0` and `75` are both `75`)."""
        return [{name: normalize(value) for name, value in zip(self.columns, row)} for row in self.rows]

    def to_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}


def normalize(value: Any) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    if text.lower() in ("nan", "none", "null"):
        return ""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    number = number.normalize()
    return format(number.quantize(Decimal(1)) if number == number.to_integral() else number, "f")


def read_csv(path: Path) -> Outcome:
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    if not rows:
        return Outcome(columns=[])
    return Outcome(columns=rows[0], rows=rows[1:])


def write_orders_csv(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(ORDERS)


def expected_orders() -> list[dict[str, str]]:
    return [{name: normalize(order[name]) for name in COLUMNS} for order in ORDERS]


class Project:
    """A temporary Osiris project: `pipeline.yaml`, `osiris_connections.yaml`, `osiris run`."""

    def __init__(self, root: Path, osiris: str, connections: dict | None = None) -> None:
        self.root = root
        self.osiris = osiris
        self.connections: dict = dict(connections or {})
        root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.root / name

    def run(self, steps: list[dict]) -> None:
        pipeline = {"oml_version": "0.1.0", "name": "migrated-component", "steps": steps}
        (self.root / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")
        document = {"version": 1, "connections": self.connections}
        (self.root / "osiris_connections.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        # COLUMNS: Osiris prints through rich, which wraps at 80 columns when not on a terminal.
        environment = {**os.environ, "OSIRIS_HOME": str(self.root), "COLUMNS": "1000"}
        result = subprocess.run(
            [self.osiris, "run", "pipeline.yaml"],
            cwd=self.root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        if result.returncode != 0:
            output = f"{result.stdout}\n{result.stderr}".strip()
            raise RuntimeError(f"{failure_line(output, result.returncode)}\n{output}")

    @contextlib.contextmanager
    def as_osiris_home(self):
        """Osiris reads `osiris_connections.yaml` from `OSIRIS_HOME` while this is open."""
        document = {"version": 1, "connections": self.connections}
        (self.root / "osiris_connections.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        before = os.environ.get("OSIRIS_HOME")
        os.environ["OSIRIS_HOME"] = str(self.root)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("OSIRIS_HOME", None)
            else:
                os.environ["OSIRIS_HOME"] = before


def failure_line(output: str, code: int) -> str:
    """The line of `osiris run`'s output that says what failed."""
    for line in output.splitlines():
        text = line.strip().lstrip("❌✗ ").strip()
        if any(word in line for word in ("❌", "Error", "failed", "Failed")) and text:
            return f"`osiris run` failed: {text}"
    return f"`osiris run` exited with status {code}"


def user_connections(family: str, path: str | None) -> dict:
    """The connections of `family` from an `osiris_connections.yaml` (`OSIRIS_TEST_CONNECTIONS`)."""
    path = path or os.environ.get(CONNECTIONS_VARIABLE)
    if not path:
        raise Unavailable(
            f"needs a {family} server: set {CONNECTIONS_VARIABLE} to an osiris_connections.yaml with a `{family}` connection"
        )
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    connections = (document.get("connections") or {}).get(family)
    if not connections:
        raise Unavailable(f"`{path}` has no `{family}` connection")
    return {family: connections}


def csv_source(step_id: str, path: Path) -> dict:
    return {"id": step_id, "component": "filesystem.csv_extractor", "mode": "read", "config": {"path": str(path)}}


def csv_sink(step_id: str, needs: str, path: Path) -> dict:
    return {
        "id": step_id,
        "component": "filesystem.csv_writer",
        "mode": "write",
        "needs": [needs],
        "config": {"path": str(path)},
    }


class Scenario(abc.ABC):
    """One way to exercise a component; subclasses say how."""

    service: str | None = None

    @abc.abstractmethod
    def run(self, component: str, project: Project, connections: str | None = None) -> Outcome:
        """Runs the component in its pipeline and returns the rows it left."""

    def expected(self) -> list[dict[str, str]]:
        return expected_orders()


class CsvExtractor(Scenario):
    """Reads a CSV of the orders; filesystem.csv_writer writes them back."""

    def run(self, component: str, project: Project, connections: str | None = None) -> Outcome:
        source, output = project.path("orders.csv"), project.path("out.csv")
        write_orders_csv(source)
        step = {"id": "read", "component": component, "mode": "read", "config": {"path": str(source)}}
        project.run([step, csv_sink("write", "read", output)])
        return read_csv(output)


class CsvWriter(Scenario):
    """Writes the orders filesystem.csv_extractor read from a CSV."""

    def run(self, component: str, project: Project, connections: str | None = None) -> Outcome:
        source, output = project.path("orders.csv"), project.path("out.csv")
        write_orders_csv(source)
        step = {"id": "write", "component": component, "mode": "write", "needs": ["read"], "config": {"path": str(output)}}
        project.run([csv_source("read", source), step])
        return read_csv(output)


class SqlProcessor(Scenario):
    """Runs SQL over the orders between a CSV source and a CSV sink."""

    QUERY = (
        "SELECT id, upper(customer) AS customer, city, amount * 2 AS doubled "
        "FROM df_read WHERE amount IS NULL OR amount < 300 ORDER BY id"
    )

    def run(self, component: str, project: Project, connections: str | None = None) -> Outcome:
        source, output = project.path("orders.csv"), project.path("out.csv")
        write_orders_csv(source)
        step = {"id": "query", "component": component, "mode": "transform", "needs": ["read"], "config": {"query": self.QUERY}}
        project.run([csv_source("read", source), step, csv_sink("write", "query", output)])
        return read_csv(output)

    def expected(self) -> list[dict[str, str]]:
        rows = []
        for order in ORDERS:
            amount = Decimal(order["amount"]) if order["amount"] else None
            if amount is not None and amount >= 300:
                continue
            rows.append(
                {
                    "id": normalize(order["id"]),
                    "customer": order["customer"].upper(),
                    "city": order["city"],
                    "doubled": normalize(amount * 2 if amount is not None else None),
                }
            )
        return rows


class SqlTable:
    """A table in the scenario's MySQL database, dropped when the scenario ends."""

    def __init__(self, project: Project, family: str) -> None:
        import sqlalchemy as sa
        from osiris.core.config import resolve_connection

        with project.as_osiris_home():
            connection = resolve_connection(family, None)
        url = sa.engine.URL.create(
            "mysql+pymysql",
            username=connection.get("user"),
            password=connection.get("password"),
            host=connection.get("host", "localhost"),
            port=int(connection.get("port", 3306)),
            database=connection.get("database"),
        )
        self.engine = sa.create_engine(url)
        self.name = f"ocp_migrated_{uuid.uuid4().hex[:12]}"

    def create_orders(self) -> None:
        import sqlalchemy as sa

        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    f"CREATE TABLE `{self.name}` (id INT PRIMARY KEY, customer VARCHAR(100), "
                    "city VARCHAR(100), amount DECIMAL(10, 2) NULL)"
                )
            )
            connection.execute(
                sa.text(f"INSERT INTO `{self.name}` VALUES (:id, :customer, :city, :amount)"),
                [{**order, "amount": order["amount"] or None} for order in ORDERS],
            )

    def read(self) -> Outcome:
        import sqlalchemy as sa

        with self.engine.connect() as connection:
            result = connection.execute(sa.text(f"SELECT * FROM `{self.name}` ORDER BY id"))
            columns = list(result.keys())
            rows = [["" if value is None else str(value) for value in row] for row in result]
        return Outcome(columns=columns, rows=rows)

    def drop(self) -> None:
        import sqlalchemy as sa

        with self.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS `{self.name}`"))
        self.engine.dispose()


class SqlExtractor(Scenario):
    """Reads the orders from a MySQL table; filesystem.csv_writer writes them to a CSV."""

    service = "mysql"

    def run(self, component: str, project: Project, connections: str | None = None) -> Outcome:
        family = component.split(".", 1)[0]
        project.connections.update(user_connections(family, connections))
        output = project.path("out.csv")
        table = SqlTable(project, family)
        try:
            table.create_orders()
            step = {
                "id": "read",
                "component": component,
                "mode": "read",
                "config": {"query": f"SELECT id, customer, city, amount FROM `{table.name}` ORDER BY id"},
            }
            project.run([step, csv_sink("write", "read", output)])
        finally:
            table.drop()
        return read_csv(output)


class SqlWriter(Scenario):
    """Writes the orders of a CSV into a new MySQL table, read back in order."""

    service = "mysql"

    def run(self, component: str, project: Project, connections: str | None = None) -> Outcome:
        family = component.split(".", 1)[0]
        project.connections.update(user_connections(family, connections))
        source = project.path("orders.csv")
        write_orders_csv(source)
        table = SqlTable(project, family)
        try:
            step = {
                "id": "write",
                "component": component,
                "mode": "write",
                "needs": ["read"],
                "config": {"table": table.name, "mode": "append"},
            }
            project.run([csv_source("read", source), step])
            return table.read()
        finally:
            table.drop()


class GraphqlServer:
    """A GraphQL endpoint on 127.0.0.1 that answers every query with the orders."""

    def __init__(self) -> None:
        body = json.dumps({"data": {"orders": ORDERS}}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/graphql"

    def __enter__(self) -> GraphqlServer:
        self.thread.start()
        return self

    def __exit__(self, *args: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class GraphqlExtractor(Scenario):
    """Queries a GraphQL endpoint on 127.0.0.1 for the orders; filesystem.csv_writer writes them."""

    def run(self, component: str, project: Project, connections: str | None = None) -> Outcome:
        family = component.split(".", 1)[0]
        output = project.path("out.csv")
        with GraphqlServer() as server:
            project.connections[family] = {"local": {"default": True, "endpoint": server.url}}
            step = {
                "id": "read",
                "component": component,
                "mode": "read",
                "config": {
                    "endpoint": server.url,
                    "query": "query Orders { orders { id customer city amount } }",
                    "data_path": "data.orders",
                },
            }
            project.run([step, csv_sink("write", "read", output)])
        return read_csv(output)


# The built-in each scenario exercises, by the built-in's name.
SCENARIOS: dict[str, Scenario] = {
    "filesystem.csv_extractor": CsvExtractor(),
    "filesystem.csv_writer": CsvWriter(),
    "duckdb.processor": SqlProcessor(),
    "mysql.extractor": SqlExtractor(),
    "mysql.writer": SqlWriter(),
    "graphql.extractor": GraphqlExtractor(),
}


def scenario_for(builtin: str) -> Scenario | None:
    return SCENARIOS.get(builtin)
