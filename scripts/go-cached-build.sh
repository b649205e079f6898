# Sourced by build-control-plane.sh and build-helm.sh: build binaries from a Go module in
# this repository into ${WEIGHBRIDGE_CACHE:-$HOME/.cache/weighbridge}/bin/<prefix>-<hash>/.
#
# The hash covers the module's go.mod, go.sum and Go sources, the calling script, this file
# and the Go version, so an unchanged tree is never rebuilt. One builder at a time per hash
# (a second caller waits, then finds the result). The build goes to a temporary directory
# that is renamed into place only when complete, so an interrupted build never looks cached.
# The last stdout line is the directory.
#
# The caller sets MODDIR (the module), PREFIX (of the directory), WHAT (for messages) and
# BINS (the binaries the directory must hold), defines `build DIR` (run in MODDIR: build the
# binaries into DIR and print the first line of BUILD-INFO), then calls cached_go_build.

CACHE=${WEIGHBRIDGE_CACHE:-$HOME/.cache/weighbridge}
# Isolate from any go.work above us and from GOFLAGS in the environment;
# the committed go.sum must be complete (-mod=readonly).
export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

cache_key() {
	{
		go env GOVERSION GOOS GOARCH
		sha256sum "$0" "${BASH_SOURCE[0]}" | cut -d' ' -f1
		cd "$MODDIR"
		find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -not -path './vendor/*' -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum
	} | sha256sum | cut -c1-16
}

is_complete() {
	local b
	for b in "${BINS[@]}"; do [ -x "$1/$b" ] || return 1; done
}

cached_go_build() {
	command -v go >/dev/null || { echo "$WHAT: go is not on PATH" >&2; exit 1; }
	local key out start
	key="$PREFIX-$(cache_key)"
	out="$CACHE/bin/$key"
	if ! is_complete "$out"; then
		mkdir -p "$CACHE/bin"
		exec 9>"$CACHE/bin/.lock-$key"
		flock 9
	fi
	if ! is_complete "$out"; then
		# Leftovers of a killed build of this key (we hold its lock, so nobody uses them).
		rm -rf "$CACHE/bin/.tmp-$key-"*
		BUILD_TMP=$(mktemp -d "$CACHE/bin/.tmp-$key-XXXXXX")
		trap 'rm -rf "$BUILD_TMP"' EXIT
		echo "building $WHAT (${BINS[*]}) into $out" >&2
		start=$(date +%s)
		{
			(cd "$MODDIR" && build "$BUILD_TMP")
			printf 'go %s\nkey %s\n' "$(go env GOVERSION)" "$key"
		} >"$BUILD_TMP/BUILD-INFO"
		is_complete "$BUILD_TMP" || { echo "$WHAT: missing binaries in $BUILD_TMP" >&2; exit 1; }
		chmod 755 "$BUILD_TMP"
		rm -rf "$out" # a stale, incomplete directory from a hand-made mess
		mv -T "$BUILD_TMP" "$out"
		trap - EXIT
		echo "built $WHAT in $(($(date +%s) - start))s" >&2
	fi
	echo "$WHAT binaries cached at $out"
	echo "$out"
}
