#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_cli_independence.sh — the CLI stands on the record format alone
# (ARCHITECTURE.md, issue 14):
#  1. no source of the CLI (profiler/cli/, its jetsam/ part included)
#     includes a zone runtime header: only its own headers, the record format
#     (profiler/record_format.h) and the table headers of zone/ (options.h,
#     profile.h, sizeclass.h, aslr.h), which include no other zone header;
#  2. the zonetrace executable defines no allocator, profiler or zone/prim/
#     symbol (zt_prim_*, zt_nano_*, zt_rack_*, zt_large_*, ...): it links the
#     tables (CMake target zt_tables) and its own host layer (host.c), and
#     nothing it needs is left undefined.
# Env: ZT_BUILD (the build directory), ZT_SRC (the sources).
# ----------------------------------------------------------------------------
set -uo pipefail
src=${ZT_SRC:?ZT_SRC not set}
build=${ZT_BUILD:?ZT_BUILD not set}
failures=0
fail() { echo "test_cli_independence: FAIL: $*" >&2; failures=$((failures + 1)); }

tables="options.h profile.h sizeclass.h aslr.h"
shopt -s nullglob
for f in "$src"/profiler/cli/*.[ch] "$src"/profiler/cli/*/*.[ch]; do
    while read -r inc; do
        dir=$(dirname "$f")
        [ -e "$dir/$inc" ] && continue # the CLI's own (or a part #included)
        [ -e "$src/profiler/cli/$inc" ] && continue
        [ "$inc" = record_format.h ] && continue
        case " $tables " in *" $inc "*) continue ;; esac
        fail "${f#"$src"/} includes \"$inc\" (a runtime header: the CLI reads the record format)"
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
for t in $tables; do
    if grep -q '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$src/zone/$t"; then
        fail "zone/$t (a table header the CLI uses) includes another zone header"
    fi
done

exe=$build/zonetrace
if [ ! -x "$exe" ]; then
    echo "test_cli_independence: SKIP (part 2): $exe not built"
    [ $failures -eq 0 ] && exit 77
    exit 1
fi
command -v nm >/dev/null 2>&1 || { echo "test_cli_independence: SKIP: nm not found"; exit 77; }
# Functions and writable data of the allocator, the profiler and zone/prim/
# (read-only tables a table header defines, such as xzone's bin sizes, are
# data the size-class table needs: type r/R is allowed).
runtime='zt_(prim|nano|rack|large|szone|xzone|va|chunkmap|tcache|registry|init|hook|hooks|record|rec|account|snapshot|stacktab|capture|monitor|crash|freed|zone|error|promote|introspect|lock|cpu)_'
bad=$(nm "$exe" | awk '$2 !~ /^[rRUwvV]$/ {print $3}' | grep -E "^$runtime" | sort -u)
if [ -n "$bad" ]; then
    fail "$exe defines allocator or prim symbols ($(echo "$bad" | wc -l)), e.g.: $(echo "$bad" | head -5 | tr '\n' ' ')"
fi
undef=$(nm -u "$exe" | awk '{print $2}' | grep -E '^zt_' | sort -u)
[ -z "$undef" ] || fail "$exe leaves zonetrace symbols undefined: $undef"
if [ $failures -eq 0 ]; then
    echo "test_cli_independence: ok"
    exit 0
fi
exit 1
