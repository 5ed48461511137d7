"""The spec loads, names this component, agrees with the package, and Osiris accepts it."""

from __future__ import annotations

import importlib
import json
import shutil
from importlib import metadata
from pathlib import Path

import pytest
from packaging.version import Version

import {{import_name}}
from {{import_name}} import load_spec

COMPONENT = "{{component}}"
DISTRIBUTION = "{{package_name}}"
SPEC_FILE = Path({{import_name}}.__file__).with_name("spec.yaml")


def osiris_schema_path() -> Path:
    """The spec schema shipped with the installed Osiris."""
    path = Path(str(metadata.distribution("osiris-pipeline").locate_file("components/spec.schema.json")))
    if not path.exists():
        pytest.skip("the installed Osiris ships no components/spec.schema.json")
    return path


def test_spec_names_this_component() -> None:
    assert load_spec()["name"] == COMPONENT


def test_versions_agree() -> None:
    spec_version = Version(load_spec()["version"])
    assert spec_version == Version({{import_name}}.__version__)
    assert spec_version == Version(metadata.version(DISTRIBUTION))


def test_spec_validates_against_the_osiris_schema() -> None:
    import jsonschema

    schema = json.loads(osiris_schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(load_spec())


def test_osiris_component_registry_loads_the_spec(tmp_path: Path) -> None:
    from osiris.components.registry import ComponentRegistry

    shutil.copy(osiris_schema_path(), tmp_path / "spec.schema.json")
    (tmp_path / COMPONENT).mkdir()
    shutil.copy(SPEC_FILE, tmp_path / COMPONENT / "spec.yaml")
    specs = ComponentRegistry(root=tmp_path).load_specs()
    assert COMPONENT in specs


def test_entry_point_is_registered() -> None:
    entry_points = metadata.entry_points(group="osiris.components")
    matches = [ep for ep in entry_points if ep.name == COMPONENT]
    assert len(matches) == 1, f"expected one entry point named {COMPONENT}, found {matches}"
    assert matches[0].load()() == load_spec()


def test_driver_path_resolves_like_the_osiris_runtime() -> None:
    driver_path = load_spec()["x-runtime"]["driver"]
    module_name, class_name = driver_path.rsplit(".", 1)
    driver_class = getattr(importlib.import_module(module_name), class_name)
    assert callable(getattr(driver_class(), "run"))


def test_secret_fields_are_declared() -> None:
    spec = load_spec()
    properties = spec["configSchema"]["properties"]
    secret_words = ("password", "secret", "token", "api_key", "apikey")
    for name in properties:
        if any(word in name.lower() for word in secret_words):
            assert f"/{name}" in spec.get("secrets", []), f"{name} must be listed in secrets"
