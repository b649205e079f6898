"""The project's tests, by the layer they exercise: unit/<layer>, http, deploy and e2e.

tests.builders writes the Kubernetes objects every tier uses; REPO is the checkout,
weighbridge_command() the way to run its command line, and UNREACHABLE_KUBECONFIG a
kubeconfig whose API server never answers (for what a live process does before it syncs).
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def weighbridge_command() -> list[str]:
    """The installed console script, or the module where the checkout is not installed."""
    script = Path(sys.executable).with_name("weighbridge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "extender.cli"]


UNREACHABLE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: unused}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""
