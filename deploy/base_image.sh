#!/usr/bin/env bash
# Build the images' BASE from Debian's own packages (debootstrap), for hosts that cannot pull from a container
# registry (an offline intranet; this project's CI machines): Debian 12 minbase with python3 (3.11), its venv module
# and CA certificates, imported as IMAGE. Then: docker/podman build --build-arg BASE=IMAGE .
#
#   deploy/base_image.sh [IMAGE] [MIRROR]     default localhost/citymind-base:bookworm, http://deb.debian.org/debian
#
# ENGINE picks the engine (default podman, else docker). Needs root and debootstrap.
set -euo pipefail
image="${1:-localhost/citymind-base:bookworm}"
mirror="${2:-http://deb.debian.org/debian}"
engine="${ENGINE:-$(command -v podman || command -v docker)}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$mirror" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | "$engine" import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "$image: $("$engine" image inspect --format '{{.Size}}' "$image") bytes"
