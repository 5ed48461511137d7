"""End to end: Osiris runs CSV -> this processor -> CSV, and the output holds the query's rows."""

from __future__ import annotations

import csv

COMPONENT = "{{component}}"


def pipeline(source: str, output: str, query: str) -> list[dict]:
    return [
        {"id": "read-orders", "component": "filesystem.csv_extractor", "mode": "read", "config": {"path": source}},
        {
            "id": "large-orders",
            "component": COMPONENT,
            "mode": "transform",
            "needs": ["read-orders"],
            "config": {"query": query},
        },
        {
            "id": "write-large-orders",
            "component": "filesystem.csv_writer",
            "mode": "write",
            "needs": ["large-orders"],
            "config": {"path": output},
        },
    ]


# Osiris 0.5.7 resolves a connection for every family but duckdb and filesystem, even for a
# processor that connects to nothing; an entry without fields is enough.
CONNECTIONS = {"{{family}}": {"main": {"default": True}}}


def test_osiris_runs_csv_through_the_processor_to_csv(osiris_project) -> None:
    source = osiris_project.path("orders.csv")
    output = osiris_project.path("large-orders.csv")
    source.write_text("id,total\n1,50\n2,150\n3,300\n", encoding="utf-8")

    query = "SELECT id, total * 2 AS doubled FROM input_df WHERE total >= 100 ORDER BY id"
    osiris_project.run_ok(pipeline(str(source), str(output), query), CONNECTIONS)

    with output.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(row["id"], row["doubled"]) for row in rows] == [("2", "300"), ("3", "600")]


def test_bad_sql_fails_the_run(osiris_project) -> None:
    source = osiris_project.path("orders.csv")
    output = osiris_project.path("large-orders.csv")
    source.write_text("id,total\n1,50\n", encoding="utf-8")

    result = osiris_project.run(pipeline(str(source), str(output), "SELEC nonsense"), CONNECTIONS)

    assert result.returncode != 0
    assert not output.exists()
