#!/usr/bin/env bash
# Put a container engine in place for tests/e2e/test_image.py: Debian's podman with runc (crun refuses this VM's
# hybrid cgroups), and the images' base built from Debian's packages (deploy/base_image.sh: no container registry
# is reachable here). Exit 0 when the engine runs a container of the base image, 1 with the reason otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
base="${CITYMIND_IMAGE_BASE:-localhost/citymind-base:bookworm}"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "container engine: podman/runc/debootstrap missing and cannot install them here (needs root and apt-get)"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends podman runc debootstrap >/dev/null; }; then
    echo "container engine: apt-get install podman runc debootstrap failed (no network to the package mirrors?)"
    exit 1
  fi
fi
if ! podman image exists "$base"; then
  deploy/base_image.sh "$base"
fi
# this VM lacks CAP_SYS_RESOURCE: podman's default rlimits (above the hard limits) cannot be set, lower ones can
if ! out="$(podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "$base" \
    python3 -c 'print("ok")' 2>&1)" || [ "$out" != "ok" ]; then
  echo "container engine: podman cannot run a container here: $out"
  exit 1
fi
echo "container engine: $(podman --version) with runc, base image $base"
