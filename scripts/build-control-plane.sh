#!/usr/bin/env bash
# Build etcd, kube-apiserver, kube-scheduler and kubectl from the Go module in
# tests/cluster/ (pinned Kubernetes release, no downloaded release binaries),
# into ${WEIGHBRIDGE_CACHE:-$HOME/.cache/weighbridge}/bin/cp-<hash>/.
#
# The hash covers go.mod, go.sum, every Go source of the module, this script and
# the Go version, so an unchanged tree is never rebuilt. The build goes to a
# temporary directory that is renamed into place only when complete, so an
# interrupted build never looks cached. The last stdout line is the directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODDIR="$ROOT/tests/cluster"
CACHE=${WEIGHBRIDGE_CACHE:-$HOME/.cache/weighbridge}
BINS=(etcd kube-apiserver kube-scheduler kubectl)

command -v go >/dev/null || { echo "build-control-plane: go is not on PATH" >&2; exit 1; }

# Isolate from any go.work above us and from GOFLAGS in the environment;
# the committed go.sum must be complete (-mod=readonly).
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

KEY="cp-$(cache_key)"
OUT="$CACHE/bin/$KEY"

is_complete() {
	local b
	for b in "${BINS[@]}"; do [ -x "$1/$b" ] || return 1; done
}

if is_complete "$OUT"; then
	echo "control plane binaries cached at $OUT"
	echo "$OUT"
	exit 0
fi

mkdir -p "$CACHE/bin"
# One builder at a time; a second caller waits and then finds the result.
exec 9>"$CACHE/bin/.lock-$KEY"
flock 9
if is_complete "$OUT"; then
	echo "control plane binaries cached at $OUT"
	echo "$OUT"
	exit 0
fi

# Leftovers of a killed build of this key (we hold its lock, so nobody is using them).
rm -rf "$CACHE/bin/.tmp-$KEY-"*
TMP=$(mktemp -d "$CACHE/bin/.tmp-$KEY-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

cd "$MODDIR"
K8S_VERSION=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
# Release time of the pinned tag, so identical inputs give identical binaries.
BUILD_DATE=$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)
MAJOR=${K8S_VERSION#v}
MAJOR=${MAJOR%%.*}
MINOR=${K8S_VERSION#v*.}
MINOR=${MINOR%%.*}
V=k8s.io/component-base/version
LDFLAGS="-s -w -X $V.gitVersion=$K8S_VERSION -X $V.gitMajor=$MAJOR -X $V.gitMinor=$MINOR"
LDFLAGS+=" -X $V.gitTreeState=clean -X $V.buildDate=${BUILD_DATE:-1970-01-01T00:00:00Z}"
# client-go's own copy, which kubectl reports as the client version.
LDFLAGS+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
LDFLAGS+=" -X k8s.io/client-go/pkg/version.gitMajor=$MAJOR -X k8s.io/client-go/pkg/version.gitMinor=$MINOR"

echo "building control plane $K8S_VERSION (${BINS[*]}) into $OUT" >&2
start=$(date +%s)
pkgs=()
for b in "${BINS[@]}"; do pkgs+=("./cmd/$b"); done
# Default -p (GOMAXPROCS): the machine is shared.
go build -trimpath -ldflags "$LDFLAGS" -o "$TMP/" "${pkgs[@]}"
is_complete "$TMP" || { echo "build-control-plane: missing binaries in $TMP" >&2; exit 1; }
printf 'kubernetes %s\ngo %s\nkey %s\n' "$K8S_VERSION" "$(go env GOVERSION)" "$KEY" >"$TMP/BUILD-INFO"
chmod 755 "$TMP"

rm -rf "$OUT" # a stale, incomplete directory from a hand-made mess
mv -T "$TMP" "$OUT"
trap - EXIT
echo "built control plane in $(($(date +%s) - start))s" >&2
echo "control plane binaries cached at $OUT"
echo "$OUT"
