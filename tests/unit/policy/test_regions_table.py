"""The shipped area-code table is phonenumbers' own data, and the daemon does not load the world's geodata."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from importlib import resources

from gateway.policy.regions import generate_table


def test_the_shipped_table_agrees_with_the_installed_phonenumbers() -> None:
    """Every area code in data/us_area_codes.json names the states phonenumbers' geocoding data names for it.

    A newer phonenumbers may know area codes the table does not (new overlays): those numbers get no state,
    so every state rule applies to them (the safe side), and the warning says to regenerate the table."""
    shipped = json.loads((resources.files("gateway.policy") / "data" / "us_area_codes.json").read_text("utf-8"))
    current = generate_table()
    disagree = {
        npa: (states, current[npa])
        for npa, states in shipped["area_codes"].items()
        if npa in current and current[npa] != states
    }
    assert not disagree, f"regenerate gateway/policy/data/us_area_codes.json: {disagree}"
    if new := sorted(set(current) - set(shipped["area_codes"])):
        warnings.warn(f"area codes unknown to the shipped table (regenerate it): {new}", stacklevel=1)


def test_the_policy_does_not_import_the_geocoding_data() -> None:
    """Importing the daemon leaves phonenumbers' geodata (110 MB) unloaded."""
    code = "import sys, gateway.daemon; print('phonenumbers.geodata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
