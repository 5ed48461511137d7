"""The step's connection, as Osiris resolves it from `osiris_connections.yaml`."""

from __future__ import annotations

from typing import Any

FAMILY = "{{family}}"


def resolve(config: dict) -> tuple[dict[str, Any], str | None]:
    """Return the step's connection fields, and why there are none when there are none.

    Osiris 0.5.7 resolves the connection of every step whose family needs one and passes it
    as `config["resolved_connection"]`. Earlier releases pass it only to their own
    components, so without it this asks Osiris's resolver for the family's default connection
    (the `default: true` entry, or the one named `default`).
    """
    if "resolved_connection" in config:
        return dict(config["resolved_connection"] or {}), None
    try:
        from osiris.core.config import resolve_connection
    except ImportError:
        return {}, "Osiris is not installed"
    try:
        return dict(resolve_connection(FAMILY, None) or {}), None
    except Exception as error:  # no connections file, no entry for the family, a variable not set
        return {}, str(error)


def missing(step_id: str, field: str, problem: str | None) -> ValueError:
    """The error for a connection field that neither the connection nor the step provides."""
    message = (
        f"step {step_id}: {field} is missing; set it in the {FAMILY} connection in "
        "osiris_connections.yaml (or in the step's config)"
    )
    if problem:
        message += f" ({problem})"
    return ValueError(message)
