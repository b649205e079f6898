"""The cluster view, fed by a snapshot or by list+watch."""

from .state import ClusterState

__all__ = ["ClusterState"]
