"""extender/model: HostState and the HostTable."""
