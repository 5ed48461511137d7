"""Append, replace, upsert and discovery against a real SQLite database."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from {{import_name}}.driver import {{class_name}}


@pytest.fixture
def engine(tmp_path):
    return sa.create_engine(f"sqlite:///{tmp_path / 'test.db'}")


def rows(engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text("SELECT id, name FROM customers ORDER BY id"))]


def write(engine, df, **config) -> dict:
    config = {"table": "customers", **config}
    return {{class_name}}(engine=engine).run(step_id="write-1", config=config, inputs={"df": df}, ctx=None)


def test_append_adds_rows(engine) -> None:
    write(engine, pd.DataFrame({"id": [1], "name": ["a"]}))
    assert write(engine, pd.DataFrame({"id": [2], "name": ["b"]})) == {}
    assert rows(engine) == [(1, "a"), (2, "b")]


def test_replace_recreates_the_table(engine) -> None:
    write(engine, pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}))
    write(engine, pd.DataFrame({"id": [3], "name": ["c"]}), write_mode="replace")
    assert rows(engine) == [(3, "c")]


def test_upsert_updates_matches_and_inserts_the_rest(engine) -> None:
    write(engine, pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}))
    write(engine, pd.DataFrame({"id": [2, 3], "name": ["B", "c"]}), write_mode="upsert", primary_key=["id"], batch_size=1)
    assert rows(engine) == [(1, "a"), (2, "B"), (3, "c")]


def test_upsert_into_a_new_table_inserts(engine) -> None:
    write(engine, pd.DataFrame({"id": [1], "name": ["a"]}), write_mode="upsert", primary_key=["id"])
    assert rows(engine) == [(1, "a")]


def test_upsert_needs_a_primary_key(engine) -> None:
    with pytest.raises(ValueError, match="primary_key is required"):
        write(engine, pd.DataFrame({"id": [1], "name": ["a"]}), write_mode="upsert")


def test_unknown_mode_is_refused(engine) -> None:
    with pytest.raises(ValueError, match="write_mode must be one of"):
        write(engine, pd.DataFrame({"id": [1], "name": ["a"]}), write_mode="merge")


def test_the_oml_step_mode_is_not_the_write_mode(engine) -> None:
    # Osiris puts the OML step mode into the config as `mode`; rows are still appended.
    write(engine, pd.DataFrame({"id": [1], "name": ["a"]}), mode="write")
    write(engine, pd.DataFrame({"id": [2], "name": ["b"]}), mode="write")
    assert rows(engine) == [(1, "a"), (2, "b")]


def test_the_database_comes_from_the_resolved_connection(tmp_path) -> None:
    database = tmp_path / "from-connection.db"
    config = {"table": "customers", "resolved_connection": {"url": f"sqlite:///{database}"}}
    {{class_name}}().run(step_id="w", config=config, inputs={"df": pd.DataFrame({"id": [1], "name": ["a"]})})
    assert rows(sa.create_engine(f"sqlite:///{database}")) == [(1, "a")]


def test_a_step_url_overrides_the_connection(tmp_path) -> None:
    database = tmp_path / "from-step.db"
    config = {
        "table": "customers",
        "url": f"sqlite:///{database}",
        "resolved_connection": {"url": f"sqlite:///{tmp_path / 'other.db'}"},
    }
    {{class_name}}().run(step_id="w", config=config, inputs={"df": pd.DataFrame({"id": [1], "name": ["a"]})})
    assert rows(sa.create_engine(f"sqlite:///{database}")) == [(1, "a")]


def test_no_url_anywhere_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OSIRIS_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="url is missing"):
        {{class_name}}().run(step_id="w", config={"table": "t"}, inputs={"df": pd.DataFrame({"id": [1]})})


def test_discover_lists_tables_and_columns(engine) -> None:
    write(engine, pd.DataFrame({"id": [1], "name": ["a"]}))
    found = {{class_name}}(engine=engine).discover(config={})
    assert [resource["name"] for resource in found["resources"]] == ["customers"]
    assert sorted(found["resources"][0]["schema"]) == ["id", "name"]


def test_df_prefixed_input_keys_are_accepted(engine) -> None:
    {{class_name}}(engine=engine).run(
        step_id="w", config={"table": "customers"}, inputs={"df_extract": pd.DataFrame({"id": [5], "name": ["e"]})}
    )
    assert rows(engine) == [(5, "e")]


def test_missing_input_is_an_error(engine) -> None:
    with pytest.raises(ValueError, match="expected a DataFrame"):
        {{class_name}}(engine=engine).run(step_id="w", config={"table": "customers"}, inputs={})
