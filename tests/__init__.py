"""The project's tests, by the layer they exercise: unit/<layer>, http, deploy and e2e.

tests.builders writes the Kubernetes objects every tier uses; REPO is the checkout, and
weighbridge_command() the way to run its command line.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def weighbridge_command() -> list[str]:
    """The installed console script, or the module where the checkout is not installed."""
    script = Path(sys.executable).with_name("weighbridge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "extender.cli"]
