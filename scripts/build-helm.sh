#!/usr/bin/env bash
# Build a real helm binary from the Go module in tests/helm/ (which pins
# helm.sh/helm/v3 with a `tool` directive) into
# ${WEIGHBRIDGE_CACHE:-$HOME/.cache/weighbridge}/bin/helm-<hash>/helm, cached as
# scripts/go-cached-build.sh describes. The last stdout line is the directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODDIR="$ROOT/tests/helm"
PREFIX=helm
WHAT=helm
BINS=(helm)
PKG=helm.sh/helm/v3

# shellcheck source=go-cached-build.sh
source "$ROOT/scripts/go-cached-build.sh"

build() {
	local version client_go minor ldflags p
	version=$(go list -m -f '{{.Version}}' "$PKG")
	# helm's Makefile derives the default .Capabilities.KubeVersion from client-go
	# (v0.X.Y -> 1.X); do the same so `helm template` reports what helm would.
	client_go=$(go list -m -f '{{.Version}}' k8s.io/client-go)
	minor=${client_go#v0.}
	minor=${minor%%.*}
	ldflags="-s -w -X $PKG/internal/version.version=$version -X $PKG/internal/version.gitTreeState=clean"
	for p in pkg/lint/rules pkg/chartutil; do
		ldflags+=" -X $PKG/$p.k8sVersionMajor=1 -X $PKG/$p.k8sVersionMinor=$minor"
	done
	go build -trimpath -ldflags "$ldflags" -o "$1/helm" "$PKG/cmd/helm" >&2
	echo "helm $version"
}

cached_go_build
