"""Development tooling: the local control plane, the demos. Not shipped in the wheel."""
