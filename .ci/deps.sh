#!/usr/bin/env bash
# Install the Debian packages zonetrace needs (build, tests, demo, bench) when
# they are missing. Runs apt-get only as root and only for missing packages.
set -euo pipefail
pkgs=(cmake make gcc g++ pkg-config libunwind-dev libxxhash-dev libmimalloc-dev libdw-dev
      libelf-dev libjemalloc-dev libjemalloc2 valgrind clang python3 sqlite3 git perl xz-utils
      heaptrack gnuplot-nox procps openjdk-17-jdk-headless)
[ "${ZT_WITH_CHROMIUM:-1}" = 1 ] && pkgs+=(chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "zonetrace: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
  exit 1
fi
echo "zonetrace: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update >/dev/null 2>&1
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
