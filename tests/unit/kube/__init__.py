"""extender/kube: quantities and pod requests."""
