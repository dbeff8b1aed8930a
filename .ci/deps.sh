#!/usr/bin/env bash
# Install the Debian packages zonetrace needs (build, tests, demo, bench) when
# they are missing. Runs apt-get only as root and only for missing packages.
# Required packages must install; optional ones (a browser for the HTML test,
# a JDK for the JVM override test) are tried, and their tests skip with a
# message when they are absent, so a failed download cannot break the build.
set -euo pipefail
required=(cmake make gcc g++ pkg-config libunwind-dev libxxhash-dev libmimalloc-dev libdw-dev
          libelf-dev libjemalloc-dev libjemalloc2 valgrind clang python3 sqlite3 git perl xz-utils
          heaptrack gnuplot-nox procps clang-format)
optional=(openjdk-17-jdk-headless libtcmalloc-minimal4) # tcmalloc: a bench/ peer only
[ "${ZT_WITH_CHROMIUM:-1}" = 1 ] && optional+=(chromium)

missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

need=($(missing "${required[@]}"))
want=($(missing "${optional[@]}"))
[ ${#need[@]} -eq 0 ] && [ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  [ ${#need[@]} -eq 0 ] && exit 0
  echo "zonetrace: missing Debian packages: ${need[*]} (run as root or install them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
updated=0
install() { # install "$@", running apt-get update once if the first try fails
  apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 && return 0
  if [ $updated = 0 ]; then
    updated=1
    apt-get update >/dev/null 2>&1 || true
    apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 && return 0
  fi
  return 1
}
if [ ${#need[@]} -gt 0 ]; then
  echo "zonetrace: installing ${need[*]}" >&2
  install "${need[@]}" || { echo "zonetrace: apt-get install ${need[*]} failed" >&2; exit 1; }
fi
for p in "${want[@]}"; do
  echo "zonetrace: installing $p (optional)" >&2
  install "$p" || echo "zonetrace: could not install $p; the tests that need it will be skipped" >&2
done
exit 0
