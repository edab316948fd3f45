#!/usr/bin/env bash
# Installs what Sluice needs on a fresh Debian machine, skipping whatever is already there.
#   scripts/install-deps.sh build   system libraries to build (libssl-dev, liblz4-dev, zlib, pkg-config)
#   scripts/install-deps.sh test    the above plus the real Kafka clients the tests drive
set -euo pipefail
what=${1:-build}

need_apt=()
want_pkgs=(libssl-dev liblz4-dev zlib1g-dev pkg-config openssl)
[ "$what" = test ] && want_pkgs+=(kcat curl iptables prometheus)  # curl: deploy/local-cluster.sh polls /healthz; iptables: scripts/faults; prometheus: test_metrics.py scrapes /metrics
for pkg in "${want_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "$what" = test ]; then
  # Real Kafka clients for the compatibility tests, and the reference hash/compression
  # implementations the fixture scripts cross-check against.
  py_mods=(confluent_kafka kafka aiokafka lz4 cramjam pytest)
  py_pkgs=(confluent-kafka kafka-python aiokafka lz4 cramjam pytest)
  missing=()
  for i in "${!py_mods[@]}"; do
    python3 -c "import ${py_mods[$i]}" 2>/dev/null || missing+=("${py_pkgs[$i]}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: pip install ${missing[*]}"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "${missing[@]}"
  fi
fi
