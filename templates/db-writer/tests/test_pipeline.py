"""End to end: Osiris runs a pipeline that reads a CSV file and writes it into SQLite."""

from __future__ import annotations

import sqlite3

COMPONENT = "{{component}}"


def pipeline(source: str, write_mode: str) -> list[dict]:
    config = {"connection": "@{{family}}.main", "table": "customers", "write_mode": write_mode}
    if write_mode != "append":
        config["primary_key"] = ["id"]
    return [
        {"id": "read-customers", "component": "filesystem.csv_extractor", "mode": "read", "config": {"path": source}},
        {"id": "write-customers", "component": COMPONENT, "mode": "write", "needs": ["read-customers"], "config": config},
    ]


def connections(database: str) -> dict:
    return {"{{family}}": {"main": {"default": True, "url": f"sqlite:///{database}"}}}


def rows(database) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT id, name FROM customers ORDER BY id").fetchall()


def test_osiris_runs_a_pipeline_that_appends_then_upserts(osiris_project) -> None:
    source = osiris_project.path("customers.csv")
    database = osiris_project.path("warehouse.db")

    source.write_text("id,name\n1,Ada\n2,Grace\n", encoding="utf-8")
    osiris_project.run_ok(pipeline(str(source), "append"), connections(str(database)))
    assert rows(database) == [(1, "Ada"), (2, "Grace")]

    source.write_text("id,name\n2,Grace Hopper\n3,Edsger\n", encoding="utf-8")
    osiris_project.run_ok(pipeline(str(source), "upsert"), connections(str(database)))
    assert rows(database) == [(1, "Ada"), (2, "Grace Hopper"), (3, "Edsger")]


def test_a_missing_connection_fails_the_run(osiris_project) -> None:
    source = osiris_project.path("customers.csv")
    source.write_text("id,name\n1,Ada\n", encoding="utf-8")

    result = osiris_project.run(pipeline(str(source), "append"), {"other": {"main": {"default": True}}})

    assert result.returncode != 0
    assert not osiris_project.path("warehouse.db").exists()
