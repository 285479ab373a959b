"""The SMSC simulator's public names (that no production room imports the simulators is an import-linter
contract in pyproject.toml, checked by tests/unit/test_layers.py)."""

from __future__ import annotations

import gateway.simulators.smsc as smsc


def test_smsc_public_names_are_pinned() -> None:
    """gateway.simulators.smsc re-exports exactly these names, and each resolves."""
    assert sorted(smsc.__all__) == sorted(
        [
            "OUTCOMES",
            "AcceptedSubmit",
            "NoReceiverError",
            "SimulatorConfig",
            "SimulatorStats",
            "SmscSimulator",
            "build_parser",
            "config_from_args",
            "main",
            "parse_outcomes",
        ]
    )
    assert all(getattr(smsc, name) is not None for name in smsc.__all__)
