#!/usr/bin/env bash
# Build weighbridge's container image from the repository's Dockerfile with podman (no
# daemon, no registry needed), cached by content. The last stdout line is the image
# reference; stderr tells what happened.
#
#   scripts/build-image.sh          build (or reuse) localhost/weighbridge:<version>
#   scripts/build-image.sh --env    print the podman environment (CONTAINERS_CONF=...,
#                                   CONTAINERS_STORAGE_CONF=...) that the image lives in
#
# Steps, each cached under ${WEIGHBRIDGE_CACHE:-~/.cache/weighbridge}/image:
#   1. podman, runc and mmdebstrap from Debian (install-debian-deps.sh image) and a podman
#      configuration of our own: runc (crun refuses this machine's hybrid cgroups),
#      cgroupfs, file events, no default ulimits (podman's are above the hard limits here),
#      storage in the cache;
#   2. the base (the Dockerfile's PYTHON_IMAGE): $WEIGHBRIDGE_BASE_IMAGE when set (e.g.
#      python:3.11-slim where a registry is reachable), else Debian bookworm's own
#      python3.11 made by mmdebstrap and imported: the `essential` variant (no apt), no
#      pip, no docs, man pages, info or locales, /usr merged by mmdebstrap's hook rather
#      than the usrmerge package (which would pull in perl);
#   3. a wheelhouse built on the host (`pip wheel`: the project's dependencies, the build
#      backend and pip itself), since no package index is reachable inside the build; the
#      build mounts it and pip runs from its own wheel (the base has no pip);
#   4. `podman build` of the Dockerfile, labelled with the content key: a sha256 over the
#      Dockerfile, this script, pyproject.toml and extender/. When an image with that key
#      exists nothing is rebuilt;
#   5. a CycloneDX SBOM of the image's /opt/weighbridge environment (`cyclonedx-py
#      environment`, PyPI cyclonedx-bom, in a tool venv of its own), written next to the
#      image as sbom.cdx.json.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${WEIGHBRIDGE_CACHE:-$HOME/.cache/weighbridge}/image
PODMAN_DIR=$CACHE/podman
export CONTAINERS_CONF=$PODMAN_DIR/containers.conf
export CONTAINERS_STORAGE_CONF=$PODMAN_DIR/storage.conf
HOST_PYTHON=${WEIGHBRIDGE_HOST_PYTHON:-$ROOT/.venv/bin/python}
CYCLONEDX_BOM=cyclonedx-bom==7.2.1
SUITE=bookworm
# The base: the python3.11 interpreter and standard library, and nothing else we can drop.
# libstdc++6: manylinux wheels (numpy) expect it from the system, as python:3.11-slim has it.
BASE_PACKAGES=python3.11-minimal,libpython3.11-stdlib,python3,python-is-python3,libstdc++6
DPKG_EXCLUDES=('/usr/share/doc/*' '/usr/share/man/*' '/usr/share/info/*' '/usr/share/locale/*'
	'/usr/share/lintian/*' '/usr/share/common-licenses/*')

log() { echo "build-image: $*" >&2; }

write_podman_config() {
	mkdir -p "$PODMAN_DIR"
	cat >"$CONTAINERS_CONF" <<-EOF
		# written by scripts/build-image.sh
		[containers]
		default_ulimits = []
		[engine]
		runtime = "runc"
		cgroup_manager = "cgroupfs"
		events_logger = "file"
	EOF
	cat >"$CONTAINERS_STORAGE_CONF" <<-EOF
		# written by scripts/build-image.sh
		[storage]
		driver = "overlay"
		graphroot = "$PODMAN_DIR/storage"
		runroot = "$PODMAN_DIR/run"
	EOF
}

if [ "${1:-}" = "--env" ]; then
	echo "CONTAINERS_CONF=$CONTAINERS_CONF"
	echo "CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"
	exit 0
fi

bash "$ROOT/scripts/install-debian-deps.sh" image >&2
write_podman_config

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -1)
IMAGE=localhost/weighbridge:$VERSION
KEY=$(
	cd "$ROOT"
	{
		sha256sum Dockerfile scripts/build-image.sh pyproject.toml
		find extender -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 |
			sort -z | xargs -0 sha256sum
		echo "base=${WEIGHBRIDGE_BASE_IMAGE:-debian}"
	} | sha256sum | cut -c1-16
)
OUT=$CACHE/out
if [ "$(podman image inspect --format '{{ index .Labels "dev.weighbridge.build-key" }}' \
	"$IMAGE" 2>/dev/null)" = "$KEY" ] && [ -s "$OUT/$KEY/sbom.cdx.json" ]; then
	log "$IMAGE is up to date (key $KEY); SBOM $OUT/$KEY/sbom.cdx.json"
	echo "$IMAGE"
	exit 0
fi
started=$SECONDS

# 2. The base.
if [ -n "${WEIGHBRIDGE_BASE_IMAGE:-}" ]; then
	BASE=$WEIGHBRIDGE_BASE_IMAGE
	podman image exists "$BASE" || podman pull "$BASE" >&2
else
	base_key=$(printf '%s\n' "$SUITE" merged-usr "$BASE_PACKAGES" "${DPKG_EXCLUDES[@]}" |
		sha256sum | cut -c1-16)
	BASE=localhost/weighbridge-base:$SUITE-$base_key
	if ! podman image exists "$BASE"; then
		log "building the base $BASE from Debian $SUITE packages (mmdebstrap)"
		dpkgopts=()
		for p in "${DPKG_EXCLUDES[@]}"; do dpkgopts+=("--dpkgopt=path-exclude=$p"); done
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' EXIT
		mmdebstrap --quiet --variant=essential --include="$BASE_PACKAGES" "${dpkgopts[@]}" \
			--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
			--customize-hook='rm -rf "$1"/var/cache/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
			"$SUITE" "$tmp/base.tar" >&2
		podman import --change 'CMD ["/usr/bin/python3"]' "$tmp/base.tar" "$BASE" >&2
		rm -rf "$tmp"
		trap - EXIT
	fi
fi

# 3. The wheelhouse.
WHEELHOUSE=$CACHE/wheelhouse/$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)
if [ ! -e "$WHEELHOUSE/.complete" ]; then
	log "building the wheelhouse with $HOST_PYTHON"
	rm -rf "$WHEELHOUSE"
	mkdir -p "$WHEELHOUSE"
	"$HOST_PYTHON" -m pip wheel --quiet --wheel-dir "$WHEELHOUSE" "$ROOT" \
		'setuptools>=77' wheel pip >&2
	rm -f "$WHEELHOUSE"/weighbridge-*.whl
	cp "$WHEELHOUSE"/pip-*.whl "$WHEELHOUSE/pip.whl"
	touch "$WHEELHOUSE/.complete"
fi

# 4. The image.
log "building $IMAGE on $BASE (key $KEY)"
podman build --quiet --layers \
	--volume "$WHEELHOUSE:/wheelhouse:ro" \
	--build-arg "PYTHON_IMAGE=$BASE" \
	--build-arg "PIP=python /wheelhouse/pip.whl/pip" \
	--build-arg "PIP_OPTIONS=--no-index --find-links=/wheelhouse" \
	--build-arg "VERSION=$VERSION" \
	--label "dev.weighbridge.build-key=$KEY" \
	--tag "$IMAGE" "$ROOT" >&2

# 5. The SBOM, from the environment the image holds.
TOOLS=$CACHE/tools/cyclonedx
if [ ! -x "$TOOLS/bin/cyclonedx-py" ]; then
	log "installing $CYCLONEDX_BOM into $TOOLS"
	"$HOST_PYTHON" -m venv "$TOOLS"
	"$TOOLS/bin/pip" install --quiet "$CYCLONEDX_BOM" >&2
fi
mkdir -p "$OUT/$KEY"
mnt=$(podman image mount "$IMAGE")
# cyclonedx-py asks an interpreter for its sys.path and reads the distributions there: ask
# the image's own interpreter, and hand cyclonedx-py those paths under the image's mount.
podman run --rm --network=none --entrypoint /opt/weighbridge/bin/python "$IMAGE" \
	-c 'import json,sys;json.dump(sys.path,sys.stdout)' >"$OUT/$KEY/sys.path.json"
"$HOST_PYTHON" -c 'import json,sys; print(json.dumps([sys.argv[1] + p for p in json.load(open(sys.argv[2])) if p]))' \
	"$mnt" "$OUT/$KEY/sys.path.json" >"$OUT/$KEY/mounted-sys.path.json"
printf '#!/bin/sh\ncat %q\n' "$OUT/$KEY/mounted-sys.path.json" >"$OUT/$KEY/image-python"
chmod +x "$OUT/$KEY/image-python"
"$TOOLS/bin/cyclonedx-py" environment --output-format JSON --spec-version 1.5 \
	--output-reproducible --mc-type application --validate \
	--pyproject "$ROOT/pyproject.toml" \
	--output-file "$OUT/$KEY/sbom.cdx.json" "$OUT/$KEY/image-python" >&2
podman image unmount "$IMAGE" >/dev/null
ln -sfn "$KEY" "$OUT/latest"
log "built $IMAGE in $((SECONDS - started)) s; $(podman image inspect --format '{{.Size}}' \
	"$IMAGE") bytes; SBOM $OUT/$KEY/sbom.cdx.json"
echo "$IMAGE"
