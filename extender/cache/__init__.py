"""The cluster view, fed by a snapshot or by list+watch."""

from extender.cache.state import ClusterState

__all__ = ["ClusterState"]
