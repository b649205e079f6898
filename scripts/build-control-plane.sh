#!/usr/bin/env bash
# Build etcd, kube-apiserver, kube-scheduler and kubectl from the Go module in
# tests/cluster/ (pinned Kubernetes release, no downloaded release binaries),
# into ${WEIGHBRIDGE_CACHE:-$HOME/.cache/weighbridge}/bin/cp-<hash>/, cached as
# scripts/go-cached-build.sh describes. The last stdout line is the directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODDIR="$ROOT/tests/cluster"
PREFIX=cp
WHAT="control plane"
BINS=(etcd kube-apiserver kube-scheduler kubectl)

# shellcheck source=go-cached-build.sh
source "$ROOT/scripts/go-cached-build.sh"

build() {
	local version build_date major minor v ldflags b pkgs=()
	version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
	# Release time of the pinned tag, so identical inputs give identical binaries.
	build_date=$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)
	major=${version#v}
	major=${major%%.*}
	minor=${version#v*.}
	minor=${minor%%.*}
	v=k8s.io/component-base/version
	ldflags="-s -w -X $v.gitVersion=$version -X $v.gitMajor=$major -X $v.gitMinor=$minor"
	ldflags+=" -X $v.gitTreeState=clean -X $v.buildDate=${build_date:-1970-01-01T00:00:00Z}"
	# client-go's own copy, which kubectl reports as the client version.
	ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$version"
	ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=$major -X k8s.io/client-go/pkg/version.gitMinor=$minor"
	for b in "${BINS[@]}"; do pkgs+=("./cmd/$b"); done
	# Default -p (GOMAXPROCS): the machine is shared.
	go build -trimpath -ldflags "$ldflags" -o "$1/" "${pkgs[@]}" >&2
	echo "kubernetes $version"
}

cached_go_build
