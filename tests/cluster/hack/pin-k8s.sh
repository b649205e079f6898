#!/usr/bin/env bash
# Pin this module to one Kubernetes release, the way scheduler-plugins'
# hack/upgrade-k8s.sh does: k8s.io/kubernetes requires its staging modules at
# v0.0.0 and replaces them with ./staging paths, which a consumer cannot see,
# so every staging module it requires is replaced here by the published v0.X.Y.
# Usage: tests/cluster/hack/pin-k8s.sh 1.36.3 [etcd-version]
set -euo pipefail

VERSION=${1:?usage: $0 <k8s version, e.g. 1.36.3> [etcd version, e.g. 3.6.8]}
ETCD=${2:-3.6.8}
STAGING="v0.${VERSION#*.}"
cd "$(dirname "$0")/.."
export GOWORK=off GOFLAGS=-mod=mod

modfile=$(go mod download -json "k8s.io/kubernetes@v${VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -n "$modfile" ] || { echo "cannot download k8s.io/kubernetes@v${VERSION}" >&2; exit 1; }

# Staging modules = those upstream replaces with ./staging AND requires
# (sample-* are replaced but not required, and not all are on the proxy).
replaced=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$modfile" | sort)
required=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) v0\.0\.0.*#\1#p' "$modfile" | sort)
mods=$(comm -12 <(echo "$replaced") <(echo "$required"))

# Drop replaces from an earlier pin, then add the new ones.
for old in $(go mod edit -json | sed -n 's/.*"Path": "\(k8s.io\/[a-z0-9-]*\)".*/\1/p' | sort -u); do
	go mod edit -dropreplace="$old" 2>/dev/null || true
done
for m in $mods; do
	go mod edit -replace="${m}=${m}@${STAGING}"
done
go mod edit -require="k8s.io/kubernetes@v${VERSION}" \
	-require="go.etcd.io/etcd/server/v3@v${ETCD}" \
	-require="k8s.io/component-base@${STAGING}" \
	-require="k8s.io/kubectl@${STAGING}"
go mod tidy
echo "pinned k8s.io/kubernetes v${VERSION}, staging ${STAGING}, etcd server v${ETCD}"
