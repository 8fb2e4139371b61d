#!/usr/bin/env bash
# Installs the Debian packages probekit needs to build and test, and only the
# missing ones. Run as root on Debian 12; as another user it prints the
# apt-get command instead of failing halfway.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libelf-dev libdw-dev elfutils
  libzydis-dev libzycore-dev libasmjit-dev
  libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  binutils gdb
  cpp  # the C preprocessor of D's -C (also pulled in by build-essential)
  systemtap-sdt-dev  # <sys/sdt.h>: the USDT test target (tests/targets/pk_usdt.c)
  libcpp-httplib-dev  # the -x metrics= HTTP endpoint (src/output/metrics_server.cpp) and its test's client
  nlohmann-json3-dev  # tests only: parse the -f chrome timeline (tests/runtime/output_cli_test.cpp)
  python3  # scripts/dtrace-conformance.py and its test (tests/scripts)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: error: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
