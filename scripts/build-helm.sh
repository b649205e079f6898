#!/usr/bin/env bash
# Build a real helm binary from the Go module in tests/helm/ (which pins
# helm.sh/helm/v3 with a `tool` directive) into
# ${WEIGHBRIDGE_CACHE:-$HOME/.cache/weighbridge}/bin/helm-<hash>/helm.
#
# Same caching scheme as build-control-plane.sh: the hash covers the module's
# go.mod, go.sum and Go sources, this script and the Go version; the build is
# renamed into place only when complete. The last stdout line is the directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODDIR="$ROOT/tests/helm"
CACHE=${WEIGHBRIDGE_CACHE:-$HOME/.cache/weighbridge}
PKG=helm.sh/helm/v3

command -v go >/dev/null || { echo "build-helm: go is not on PATH" >&2; exit 1; }
export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

cache_key() {
	{
		go env GOVERSION GOOS GOARCH
		sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
		cd "$MODDIR"
		find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -not -path './vendor/*' -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum
	} | sha256sum | cut -c1-16
}

KEY="helm-$(cache_key)"
OUT="$CACHE/bin/$KEY"

if [ -x "$OUT/helm" ]; then
	echo "helm binary cached at $OUT"
	echo "$OUT"
	exit 0
fi

mkdir -p "$CACHE/bin"
exec 9>"$CACHE/bin/.lock-$KEY"
flock 9
if [ -x "$OUT/helm" ]; then
	echo "helm binary cached at $OUT"
	echo "$OUT"
	exit 0
fi

# Leftovers of a killed build of this key (we hold its lock, so nobody is using them).
rm -rf "$CACHE/bin/.tmp-$KEY-"*
TMP=$(mktemp -d "$CACHE/bin/.tmp-$KEY-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

cd "$MODDIR"
HELM_VERSION=$(go list -m -f '{{.Version}}' "$PKG")
# helm's Makefile derives the default .Capabilities.KubeVersion from client-go
# (v0.X.Y -> 1.X); do the same so `helm template` reports what helm would.
CLIENT_GO=$(go list -m -f '{{.Version}}' k8s.io/client-go)
K8S_MINOR=${CLIENT_GO#v0.}
K8S_MINOR=${K8S_MINOR%%.*}
LDFLAGS="-s -w -X $PKG/internal/version.version=$HELM_VERSION -X $PKG/internal/version.gitTreeState=clean"
for p in pkg/lint/rules pkg/chartutil; do
	LDFLAGS+=" -X $PKG/$p.k8sVersionMajor=1 -X $PKG/$p.k8sVersionMinor=$K8S_MINOR"
done

echo "building helm $HELM_VERSION into $OUT" >&2
start=$(date +%s)
go build -trimpath -ldflags "$LDFLAGS" -o "$TMP/helm" "$PKG/cmd/helm"
printf 'helm %s\ngo %s\nkey %s\n' "$HELM_VERSION" "$(go env GOVERSION)" "$KEY" >"$TMP/BUILD-INFO"
chmod 755 "$TMP"

rm -rf "$OUT"
mv -T "$TMP" "$OUT"
trap - EXIT
echo "built helm in $(($(date +%s) - start))s" >&2
echo "helm binary cached at $OUT"
echo "$OUT"
