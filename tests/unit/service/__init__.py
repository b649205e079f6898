"""extender/service: the verbs, the bind barrier, decisions and the configuration."""
