#!/usr/bin/env bash
# Install the Debian packages the test suite needs beyond Python and Go:
#   prometheus  - the real server the end-to-end tests scrape weighbridge with, and promtool
#                 (`promtool check rules`) for the alert rules;
#   openssl     - the control plane's throwaway PKI (extender/localcluster.py).
# Idempotent: exits at once when everything is already there, so the Makefile and CI can
# call it on every run. Needs root (or sudo) and Debian's package archive.
#
# The package's own prometheus service is not wanted (the tests start their own on a
# loopback port with a temporary config), so its start is refused during the install
# through policy-rc.d, which both invoke-rc.d and deb-systemd-invoke honour.
set -euo pipefail

PACKAGES=(prometheus openssl)
BINARIES=(prometheus promtool openssl)

missing=()
for b in "${BINARIES[@]}"; do
	command -v "$b" >/dev/null 2>&1 || missing+=("$b")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-debian-deps: ${BINARIES[*]} already installed"
	exit 0
fi
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
echo "install-debian-deps: installed; $(prometheus --version 2>&1 | head -1)"
