"""{{title}} component for Osiris (`{{component}}`)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

__version__ = "0.1.0"
__all__ = ["__version__", "load_spec"]


def load_spec() -> dict[str, Any]:
    """Return the component specification in spec.yaml as a dict.

    This is the `osiris.components` entry point, for tools and Osiris releases that discover
    components through entry points. Osiris 0.5.7 does not: it reads
    `site-packages/components/{{component}}/spec.yaml`, which `ocp install` and the wheel
    built by `ocp build` put there.
    """
    text = resources.files(__name__).joinpath("spec.yaml").read_text(encoding="utf-8")
    spec = yaml.safe_load(text)
    if not isinstance(spec, dict):
        raise ValueError("spec.yaml must hold a mapping at the top level")
    return spec
