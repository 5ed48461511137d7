"""A temporary Osiris project for end-to-end tests: a pipeline, its connections, `osiris run`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import yaml

COMPONENT = "{{component}}"
# A pipeline that hangs (a server that never answers) fails instead of stalling the suite.
RUN_TIMEOUT_SECONDS = 300


def osiris_executable() -> str:
    """The `osiris` command of the environment running the tests."""
    name = "osiris.exe" if os.name == "nt" else "osiris"
    beside = Path(sysconfig.get_path("scripts")) / name
    found = str(beside) if beside.exists() else shutil.which("osiris")
    if not found:
        pytest.fail("the `osiris` command is not installed beside this Python")
    return found


class OsirisProject:
    """A project directory holding `pipeline.yaml` and `osiris_connections.yaml`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def write(self, steps: list[dict], connections: dict) -> Path:
        pipeline = {"oml_version": "0.1.0", "name": "ocp-end-to-end", "steps": steps}
        path = self.root / "pipeline.yaml"
        path.write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")
        document = {"version": 1, "connections": connections}
        (self.root / "osiris_connections.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    def validate(self, pipeline: Path) -> None:
        """Osiris's own OML validator accepts the pipeline."""
        from osiris.core.oml_validator import OMLValidator

        valid, errors, _warnings = OMLValidator().validate(yaml.safe_load(pipeline.read_text(encoding="utf-8")))
        assert valid, errors

    def run(self, steps: list[dict], connections: dict, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Validates the pipeline, then runs it with `osiris run` (local execution)."""
        pipeline = self.write(steps, connections)
        self.validate(pipeline)
        environment = {**os.environ, "OSIRIS_HOME": str(self.root), **(env or {})}
        return subprocess.run(
            [osiris_executable(), "run", pipeline.name],
            cwd=self.root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )

    def run_ok(self, steps: list[dict], connections: dict, env: dict[str, str] | None = None) -> None:
        result = self.run(steps, connections, env)
        assert result.returncode == 0, f"osiris run failed\n{result.stdout}\n{result.stderr}"


@pytest.fixture
def osiris_project(request: pytest.FixtureRequest, tmp_path: Path) -> OsirisProject:
    """A fresh project; skips when Osiris cannot see the component the test module is about."""
    from osiris.components.registry import ComponentRegistry

    component = getattr(request.module, "COMPONENT", COMPONENT)
    if ComponentRegistry().get_component(component) is None:
        pytest.skip(
            f"Osiris does not see {component}: Osiris 0.5.7 reads specs only from "
            "site-packages/components/, so install the wheel (`ocp test` does) rather than the source tree"
        )
    return OsirisProject(tmp_path)
