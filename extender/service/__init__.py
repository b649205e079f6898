"""What the extender does for kube-scheduler and for operators: the verbs, the bind and its
barrier, explain, the decision log, and the configuration that sets them up."""
