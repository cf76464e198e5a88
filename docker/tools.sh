#!/bin/sh
# `make compose-tools`: what the compose stack needs, installing only what is missing.
# - A Docker that is there (Docker's own docker-ce, Docker Desktop's CLI, Debian's docker.io) is
#   used as it is: Debian's engine is installed only where there is no `docker` and no `dockerd`.
# - Compose: `docker compose` (v2, Docker's plugin) or `docker-compose` (1.x) is used as it is;
#   where neither is, Debian's docker-compose 1.x, without the engine it recommends.
# - debootstrap, for `make images` where no registry is reachable.
# DRY_RUN=1 prints the one apt-get line it would run (tests/test_compose_settings.py).
set -eu
packages=""
if ! command -v docker >/dev/null 2>&1 && ! command -v dockerd >/dev/null 2>&1; then
  packages="docker.io"
fi
if ! { command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; } \
   && ! command -v docker-compose >/dev/null 2>&1; then
  packages="$packages docker-compose"
fi
command -v debootstrap >/dev/null 2>&1 || packages="$packages debootstrap"
packages=$(echo $packages)
if [ -z "$packages" ]; then
  echo "compose tools: all here (nothing to install)"
  exit 0
fi
# docker-compose recommends docker.io: next to a Docker already here, recommends stay out.
case " $packages " in
  *" docker.io "*) line="apt-get install -y -qq $packages" ;;
  *) line="apt-get install -y -qq --no-install-recommends $packages" ;;
esac
if [ "${DRY_RUN:-}" = 1 ]; then
  echo "would run: $line"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: missing $packages; install them (Debian: $line), or run as root" >&2
  exit 2
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive $line >/dev/null
echo "installed $packages"
