#!/usr/bin/env bash
# Install the Debian packages zonetrace needs (build, tests, demo, bench) when
# they are missing. Runs apt-get only as root and only for missing packages.
# Required packages must install; optional ones (a browser for the HTML test,
# a JDK for the JVM override test) are tried, and their tests skip with a
# message when they are absent, so a failed download cannot break the build.
# The Apple cross-toolchain (zig from the npm registry, pinned and checked:
# .ci/zig.sh) is installed into a cache dir, as any user; without it the
# cross-build test (tests/cross) is skipped. On macOS (the workflow in
# .github/workflows/macos.yml) the tools come from Homebrew instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(uname -s)" = Darwin ]; then
  for p in cmake pkg-config xxhash; do
    brew list --versions "$p" >/dev/null 2>&1 || brew install "$p" >/dev/null
  done
  exit 0
fi

# After the Debian packages (it needs curl and python3); never fatal.
install_zig() {
  bash "$here/zig.sh" || echo "zonetrace: zig not installed; the Apple cross-build test will be skipped" >&2
}
# llvm: llvm-objdump, llvm-nm and (as llvm-lipo-14, from llvm-14) llvm-lipo for the Mach-O
# checks; lld: ld64.lld links the macOS dylib and CLI (cmake/apple-zig-common.cmake).
required=(cmake make gcc g++ pkg-config libunwind-dev libxxhash-dev libmimalloc-dev libdw-dev
          libelf-dev libjemalloc-dev libjemalloc2 valgrind clang python3 sqlite3 git perl xz-utils
          heaptrack gnuplot-nox procps clang-format llvm lld curl)
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
[ ${#need[@]} -eq 0 ] && [ ${#want[@]} -eq 0 ] && { install_zig; exit 0; }
if [ "$(id -u)" != 0 ]; then
  [ ${#need[@]} -eq 0 ] && { install_zig; exit 0; }
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
install_zig
exit 0
