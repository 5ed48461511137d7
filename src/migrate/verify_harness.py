"""`ocp migrate --verify`: compare migrated components with Osiris's built-ins.

Run by ocp in a fresh environment holding the source Osiris and a renamed copy of each
migrated package (`mysql.extractor_migrated` beside the built-in `mysql.extractor`), with one
argument: a JSON job file. For each component it checks that Osiris registers and builds the
copy's driver, compares what the built-in and the copy do with an empty config, and runs the
component's scenario (`migrated_scenarios.py`, beside this file) once with each. The report is
one line of JSON on stdout; ocp compares the rows.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from migrated_scenarios import Project, Unavailable, scenario_for  # noqa: E402


def outcome(driver: Any) -> str:
    try:
        result = driver.run(step_id="step", config={}, inputs=None, ctx=None)
    except Exception as error:  # the outcome is what is compared
        return f"{type(error).__name__}: {error}"
    return f"returned {sorted(result or {})!r}"


def load(alias: str) -> tuple[Any, str | None]:
    from osiris.components.registry import ComponentRegistry
    from osiris.core.driver import DriverRegistry

    spec = ComponentRegistry().get_component(alias)
    if spec is None:
        return None, f"Osiris does not see `{alias}` in site-packages/components"
    registry = DriverRegistry()
    summary = registry.populate_from_component_specs({alias: spec}, verify_import=True)
    if summary.errors:
        return None, "; ".join(f"{name}: {error}" for name, error in summary.errors.items())
    try:
        return registry.get(alias), None
    except Exception:
        return None, traceback.format_exc(limit=3)


def builtin_driver(path: str) -> Any:
    module_name, class_name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), class_name)()


def run(scenario: Any, component: str, root: Path, osiris: str, connections: str | None) -> dict:
    try:
        result = scenario.run(component, Project(root, osiris), connections)
    except Unavailable as unavailable:
        return {"ran": False, "unavailable": True, "error": str(unavailable)}
    except Exception as error:
        return {"ran": False, "error": str(error) or type(error).__name__}
    return {"ran": True, **result.to_json(), "normalized": result.normalized()}


def verify(job: dict, component: dict) -> dict:
    name, alias = component["builtin"], component["alias"]
    seen: dict[str, Any] = {"builtin": name, "alias": alias, "load_error": None, "empty_config": None}
    driver, error = load(alias)
    if error:
        seen["load_error"] = error
        return seen
    if component.get("builtin_driver"):
        try:
            seen["empty_config"] = [outcome(builtin_driver(component["builtin_driver"])), outcome(driver)]
        except Exception:
            seen["load_error"] = "the built-in's driver could not be built: " + traceback.format_exc(limit=2)
            return seen
    scenario = scenario_for(name)
    if scenario is None:
        return seen
    work = Path(job["work"]) / name
    seen["expected"] = scenario.expected()
    seen["migrated_run"] = run(scenario, alias, work / "migrated", job["osiris"], job.get("connections"))
    if seen["migrated_run"].get("unavailable"):
        return seen
    seen["builtin_run"] = run(scenario, name, work / "builtin", job["osiris"], job.get("connections"))
    return seen


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    report = {"components": [verify(job, component) for component in job["components"]]}
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
