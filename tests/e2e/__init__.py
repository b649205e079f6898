"""End to end on a local etcd, kube-apiserver and kube-scheduler (tests/cluster)."""
