#!/usr/bin/env bash
# Install the Debian packages the test suite needs beyond Python and Go:
#   prometheus  - the real server the end-to-end tests scrape weighbridge with, and promtool
#                 (`promtool check rules`) for the alert rules;
#   openssl     - the control plane's throwaway PKI (devtools/localcluster.py) and the CA the
#                 deploy tests point the scheduler configurations' caFile at;
#   podman, runc, mmdebstrap - the image's daemonless build and run (scripts/build-image.sh):
#                 runc because crun refuses hybrid cgroups, mmdebstrap for a base made of
#                 Debian packages where no registry is reachable.
# Usage: install-debian-deps.sh [TIER...], TIER one of
#   e2e     prometheus, openssl
#   deploy  promtool (Debian's prometheus package), openssl
#   image   podman, runc, mmdebstrap
#   all     e2e and deploy (also what no argument means, so older callers get everything)
# so that each Makefile test tier installs only what it runs.
# Idempotent: exits at once when the tiers' binaries are already there, so the Makefile and CI
# can call it on every run. Needs root (or sudo) and Debian's package archive.
#
# The package's own prometheus service is not wanted (the tests start their own on a
# loopback port with a temporary config), so its start is refused during the install
# through policy-rc.d, which both invoke-rc.d and deb-systemd-invoke honour.
set -euo pipefail

# The Debian package that brings each binary.
declare -A PACKAGE_OF=([prometheus]=prometheus [promtool]=prometheus [openssl]=openssl
	[podman]=podman [runc]=runc [mmdebstrap]=mmdebstrap)

[ $# -gt 0 ] || set -- all
BINARIES=()
for tier in "$@"; do
	case "$tier" in
	e2e) BINARIES+=(prometheus openssl) ;;
	deploy) BINARIES+=(promtool openssl) ;;
	image) BINARIES+=(podman runc mmdebstrap) ;;
	all) BINARIES+=(prometheus promtool openssl) ;;
	*)
		echo "install-debian-deps: unknown tier '$tier' (e2e, deploy, image or all)" >&2
		exit 2
		;;
	esac
done
mapfile -t BINARIES < <(printf '%s\n' "${BINARIES[@]}" | awk '!seen[$0]++')

missing=()
for b in "${BINARIES[@]}"; do
	command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-debian-deps: ${BINARIES[*]} already installed"
	exit 0
fi
mapfile -t PACKAGES < <(for b in "${missing[@]}"; do echo "${PACKAGE_OF[$b]}"; done |
	awk '!seen[$0]++')
echo "install-debian-deps: missing ${missing[*]}; installing ${PACKAGES[*]}" >&2

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-debian-deps: run as root or install sudo" >&2; exit 1; }
	SUDO=(sudo)
fi
command -v apt-get >/dev/null 2>&1 || { echo "install-debian-deps: apt-get not found (Debian or Ubuntu needed)" >&2; exit 1; }

POLICY=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n# written by weighbridge install-debian-deps.sh for the install only\nexit 101\n' |
		"${SUDO[@]}" tee "$POLICY" >/dev/null
	"${SUDO[@]}" chmod 755 "$POLICY"
	own_policy=1
fi
cleanup() {
	if [ "$own_policy" -eq 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"

for b in "${BINARIES[@]}"; do
	command -v "$b" >/dev/null 2>&1 || { echo "install-debian-deps: $b still missing after install" >&2; exit 1; }
done
if [[ " ${PACKAGES[*]} " == *" prometheus "* ]]; then
	echo "install-debian-deps: installed; $(prometheus --version 2>&1 | head -1)"
else
	echo "install-debian-deps: installed ${PACKAGES[*]}"
fi
