"""Nova's model of a placement: HostState, RequestSpec, and the HostTable that owns every
host and is the one place a host changes."""
