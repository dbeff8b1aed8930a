#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_clang_format.sh — no formatting drift: every tracked *.c and *.h is
# what clang-format 14 makes of it with the checked-in .clang-format files
# (a directory's own .clang-format, e.g. DisableFormat, is honoured). Fails
# listing the files that drift and the command that fixes them. Skips (77)
# when clang-format 14 or git is missing, or the sources are not a checkout.
# Env: ZT_SRC (source dir; default: two levels up).
# ----------------------------------------------------------------------------
set -uo pipefail
src=${ZT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
skip() { echo "test_clang_format: SKIP: $*"; exit 77; }

# Another major version formats differently: only 14 is the reference.
cf=
for c in clang-format-14 clang-format; do
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" --version | grep -Eq 'version 14\.'; then cf=$c; break; fi
done
if [ -z "$cf" ]; then
    found=$(clang-format --version 2>/dev/null | head -1)
    skip "clang-format 14 not found${found:+ (found: $found)}; apt-get install clang-format"
fi
command -v git >/dev/null 2>&1 || skip "git not found: cannot list the tracked files"
git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
    skip "$src is not a git checkout: cannot list the tracked files"

mapfile -d '' files < <(git -C "$src" ls-files -z -- '*.c' '*.h')
[ ${#files[@]} -gt 0 ] || skip "no tracked *.c or *.h files in $src"
# One clang-format run over all of them (a process per file is slow on a
# busy machine); each drifting file shows up as "FILE:LINE:COL: error: ...".
present=()
for f in "${files[@]}"; do
    [ -f "$src/$f" ] && present+=("$f") # skip deleted, not yet committed files
done
out=$(cd "$src" && "$cf" --style=file --dry-run -Werror "${present[@]}" 2>&1 >/dev/null)
rc=$?
mapfile -t drift < <(printf '%s\n' "$out" | sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
if [ $rc -ne 0 ] && [ ${#drift[@]} -eq 0 ]; then
    echo "test_clang_format: FAIL: $cf exited $rc:" >&2
    printf '%s\n' "$out" | head -20 >&2
    exit 1
fi
if [ ${#drift[@]} -gt 0 ]; then
    echo "test_clang_format: FAIL: ${#drift[@]} of ${#files[@]} files are not clang-format 14 clean:" >&2
    printf '    %s\n' "${drift[@]}" >&2
    echo "fix: (cd $src && $cf -i ${drift[*]})" >&2
    exit 1
fi
echo "test_clang_format: ok (${#files[@]} files)"
