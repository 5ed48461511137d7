"""End to end: Osiris runs `{{component}}` in a real pipeline: {{scenario_description}}.

The pipeline runs only where Osiris uses this package's `{{component}}`: an Osiris that still
ships its own copy of the component runs that one instead (`ocp migrate --verify` compares the
two side by side).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import osiris_executable
from migrated_scenarios import Project, Unavailable, scenario_for

from {{import_name}} import load_spec

COMPONENT = "{{component}}"
# The built-in whose scenario this package's component answers to.
SCENARIO = "{{builtin_component}}"


def skip_unless_osiris_runs_this_package() -> None:
    from osiris.components.registry import ComponentRegistry

    spec = ComponentRegistry().get_component(COMPONENT)
    if spec is None:
        pytest.skip(
            f"Osiris does not see {COMPONENT}: Osiris 0.5.7 reads specs only from "
            "site-packages/components/, so install the wheel (`ocp build`) rather than the source tree"
        )
    if (spec.get("x-runtime") or {}).get("driver") != load_spec()["x-runtime"]["driver"]:
        pytest.skip(f"the installed Osiris ships its own {COMPONENT}, so a pipeline would run that one")


def test_osiris_runs_the_component_in_a_pipeline(tmp_path: Path) -> None:
    skip_unless_osiris_runs_this_package()
    scenario = scenario_for(SCENARIO)
    assert scenario is not None, f"no scenario for {SCENARIO}"
    try:
        outcome = scenario.run(COMPONENT, Project(tmp_path, osiris_executable()))
    except Unavailable as unavailable:
        pytest.skip(str(unavailable))
    assert outcome.normalized() == scenario.expected()
