#!/usr/bin/env bash
# `cmake --install` into a fresh prefix gives a usable zonetrace: a program
# built against the installed tree with only `pkg-config --cflags --libs
# zonetrace`, and one with find_package(zonetrace), both run under the
# installed CLI (which finds its library relative to itself) and reported;
# the installed demo runs without a build tree; the man page and the bash
# completion are there and work; no build or source path is baked into the
# installed CLI.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../pipe.bash"  # grep_q: no SIGPIPE under pipefail
: "${ZT_BUILD:?ZT_BUILD must point at the build directory}"
src=${ZT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
command -v pkg-config >/dev/null || { echo "test_install: SKIP: no pkg-config"; exit 77; }

p=$tmp/prefix
cmake --install "$ZT_BUILD" --prefix "$p" >"$tmp/install.log" 2>&1 || fail "install: $(tail -5 "$tmp/install.log")"
zt=$p/bin/zonetrace
for f in bin/zonetrace lib/libzonetrace.so lib/libzonetrace.a include/zonetrace.h \
    include/zonetrace/malloc_zone.h lib/pkgconfig/zonetrace.pc lib/cmake/zonetrace/zonetraceConfig.cmake \
    share/man/man1/zonetrace.1 share/bash-completion/completions/zonetrace \
    libexec/zonetrace/scenario_attrlist; do
    [ -e "$p/$f" ] || fail "not installed: $f"
done

cat >"$tmp/user.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <zonetrace.h>
#include <zonetrace/malloc_zone.h>

__attribute__((noinline)) static void *fill_cache(size_t n) { return malloc(n); }

int main(void)
{
    malloc_zone_t *z = malloc_create_zone(0, 0);
    malloc_set_zone_name(z, "UserZone");
    void *a = malloc_zone_malloc(z, 100);
    void *keep[50];
    for (int i = 0; i < 50; i++) keep[i] = fill_cache(4000);
    printf("zonetrace %s, block %zu\n", zt_version(), malloc_size(a));
    malloc_zone_free(z, a);
    return keep[49] ? 0 : 1;
}
C
# pkg-config alone
export PKG_CONFIG_PATH=$p/lib/pkgconfig
cc -O1 -g -fno-omit-frame-pointer -o "$tmp/user_pc" "$tmp/user.c" $(pkg-config --cflags --libs zonetrace) \
    -Wl,-rpath,"$(pkg-config --variable=libdir zonetrace)" 2>"$tmp/cc.err" || fail "pkg-config build: $(cat "$tmp/cc.err")"
# find_package
mkdir -p "$tmp/cm"
cp "$tmp/user.c" "$tmp/cm/user.c"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(user C)
find_package(zonetrace 0.1 REQUIRED)
add_executable(user_cm user.c)
target_compile_options(user_cm PRIVATE -O1 -g -fno-omit-frame-pointer)
target_link_libraries(user_cm PRIVATE zonetrace::zonetrace)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$p" >"$tmp/cm.log" 2>&1 || fail "find_package configure: $(tail -5 "$tmp/cm.log")"
cmake --build "$tmp/cm/build" >>"$tmp/cm.log" 2>&1 || fail "find_package build: $(tail -5 "$tmp/cm.log")"

for prog in "$tmp/user_pc" "$tmp/cm/build/user_cm"; do
    name=$(basename "$prog")
    (cd "$tmp" && "$zt" run -o "$tmp/$name.zt" -- "$prog") >"$tmp/$name.out" 2>"$tmp/$name.err" \
        || fail "$name under the installed CLI: $(cat "$tmp/$name.err")"
    grep -q "^zonetrace 0.1.0, block 112$" "$tmp/$name.out" || fail "$name printed $(cat "$tmp/$name.out")"
    "$zt" report "$tmp/$name.zt" --by zone >"$tmp/$name.txt" || fail "$name: report failed"
    grep -q "UserZone" "$tmp/$name.txt" || fail "$name: the report has no UserZone"
    "$zt" report "$tmp/$name.zt" --format folded | grep_q "fill_cache 2" \
        || fail "$name: fill_cache not in the folded report"
done

# The installed demo, away from any build tree, writes into the current folder.
mkdir "$tmp/here"
(cd "$tmp/here" && "$zt" demo >"$tmp/demo.out" 2>&1) || fail "installed demo: $(tail -5 "$tmp/demo.out")"
grep -q "CA_AttrList_set" "$tmp/demo.out" || fail "installed demo: no CA_AttrList_set in the report"
[ -s "$tmp/here/demo-attrlist.zt" ] || fail "installed demo: no record in the current folder"

# The man page: generated from the help texts, every command in it.
head -1 "$p/share/man/man1/zonetrace.1" | grep_q '^\.TH ZONETRACE 1' || fail "man page header"
for cmd in run report diff jetsam profiles options demo; do
    grep -q "^\.SS $cmd$" "$p/share/man/man1/zonetrace.1" || fail "man page lacks $cmd"
done
grep -q -- "--max-magazines" "$p/share/man/man1/zonetrace.1" || fail "man page lacks the run flags"

# Bash completion: subcommands, run flags from the table, device names.
complete_words() { # words...
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _zonetrace; echo "${COMPREPLY[*]}"' \
        _ "$p/share/bash-completion/completions/zonetrace" "$@"
}
complete_words "$zt" di | grep_q -w diff || fail "completion: subcommand"
complete_words "$zt" run --max | grep_q -w -- --max-magazines || fail "completion: run flag"
complete_words "$zt" run --device iphone6s | grep_q -w iphone6s-plus || fail "completion: device"

# Nothing of the build or the source tree in the installed CLI's data.
objcopy -O binary --only-section=.rodata "$zt" "$tmp/rodata"
for d in "$ZT_BUILD" "$src"; do
    grep -aqF "$(cd "$d" && pwd)" "$tmp/rodata" && fail "the installed CLI names $d"
done
echo "test_install: ok"
