#!/usr/bin/env bash
# Install Debian's PostgreSQL server for the registry tests on MLflow + PostgreSQL (tests/_postgres.py starts a
# throwaway cluster of its own on 127.0.0.1; this only puts the binaries in place). Exit 0 when the binaries are
# there, 1 with the reason when they cannot be installed (not root, no apt-get, no network).
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "PostgreSQL: $(ls -d /usr/lib/postgresql/*/bin | tail -1) present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "PostgreSQL: not installed and cannot install it here (needs root and apt-get)"
  exit 1
fi
# The tests never use Debian's own 'main' cluster: do not create (and start) one.
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/citymind-ci.conf
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; then
  echo "PostgreSQL: installed $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
  exit 0
fi
echo "PostgreSQL: apt-get install postgresql failed (no network to the package mirrors?)"
exit 1
