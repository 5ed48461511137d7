"""The driver migrated from Osiris's built-in `{{component}}`: Osiris registers, builds and calls
it as it did the built-in, the spec is the built-in's, and given the same input it behaves as
the built-in does wherever the installed Osiris still has one to compare with."""

from __future__ import annotations

import importlib
import inspect
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from {{import_name}} import load_spec

COMPONENT = "{{component}}"
# Where Osiris {{source_osiris}} kept it; empty when its spec named no driver.
BUILTIN_DRIVER = "{{builtin_driver}}"
PACKAGE = "{{import_name}}".split(".")[0]


def driver_class() -> type:
    module_name, class_name = load_spec()["x-runtime"]["driver"].rsplit(".", 1)
    return getattr(importlib.import_module(module_name), class_name)


def installed_builtin_spec() -> dict[str, Any]:
    """The installed Osiris's own spec of the component; skips when it has none."""
    path = Path(str(metadata.distribution("osiris-pipeline").locate_file(f"components/{COMPONENT}/spec.yaml")))
    if not path.exists():
        pytest.skip(f"the installed Osiris does not ship {COMPONENT}")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if spec.get("x-runtime", {}).get("driver") == load_spec()["x-runtime"]["driver"]:
        pytest.skip(f"the installed Osiris has no {COMPONENT} of its own besides this package's")
    return spec


def without_migrated_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec without what migration changes: the version, the driver and Python's range."""
    spec = yaml.safe_load(yaml.safe_dump(spec))
    spec.pop("version", None)
    runtime = spec.get("x-runtime") or {}
    runtime.pop("driver", None)
    if not runtime:
        spec.pop("x-runtime", None)
    requires = (spec.get("compatibility") or {}).get("requires")
    if isinstance(requires, list):
        spec["compatibility"]["requires"] = [item for item in requires if not str(item).startswith("python")]
    return spec


def test_the_driver_lives_in_this_package() -> None:
    driver = load_spec()["x-runtime"]["driver"]
    assert driver.split(".")[0] == PACKAGE, f"{driver} is not in {PACKAGE}"
    assert not driver.startswith("osiris."), driver


def test_osiris_registers_and_builds_the_driver() -> None:
    from osiris.core.driver import DriverRegistry

    registry = DriverRegistry()
    summary = registry.populate_from_component_specs({COMPONENT: load_spec()}, verify_import=True)
    assert summary.errors == {}, summary.errors
    assert isinstance(registry.get(COMPONENT), driver_class())


def test_osiris_can_call_run_with_its_keywords() -> None:
    run = driver_class()().run
    inspect.signature(run).bind(step_id="step", config={}, inputs=None, ctx=None)


def test_the_spec_is_the_builtins_apart_from_what_migration_changes() -> None:
    assert without_migrated_fields(load_spec()) == without_migrated_fields(installed_builtin_spec())


def outcome(driver: Any, config: dict[str, Any]) -> tuple[str, str]:
    try:
        result = driver.run(step_id="step", config=config, inputs=None, ctx=None)
    except Exception as error:  # the outcome is compared, whatever it is
        return type(error).__name__, str(error)
    return "returned", repr(sorted(result or {}))


def test_with_an_empty_config_it_fails_as_the_builtin_does() -> None:
    installed_builtin_spec()
    if not BUILTIN_DRIVER:
        pytest.skip(f"Osiris's own {COMPONENT} has no driver to compare with")
    module_name, class_name = BUILTIN_DRIVER.rsplit(".", 1)
    builtin = getattr(importlib.import_module(module_name), class_name)()
    assert outcome(driver_class()(), {}) == outcome(builtin, {})
