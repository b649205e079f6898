"""Kubernetes as the extender reads it: lean typed objects, quantities and pod requests as
kube-scheduler computes them, and the extender/v1 wire format. Knows nothing of Nova."""
