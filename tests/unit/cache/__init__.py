"""extender/cache: the ClusterState, assumptions, failed binds and topologies."""
