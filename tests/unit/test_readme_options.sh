#!/usr/bin/env bash
# The README's option list must be exactly `zonetrace options --markdown`,
# which prints the one option table (zone/options.h).
set -euo pipefail
src=${ZT_SRC:-$(dirname "$0")/../..}
build=${ZT_BUILD:-$src/build}
want=$("$build/zonetrace" options --markdown)
have=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' "$src/README.md" | sed '1d;$d')
if [ "$want" != "$have" ]; then
  echo "README.md options section differs from 'zonetrace options --markdown':" >&2
  diff <(echo "$want") <(echo "$have") >&2 || true
  exit 1
fi
echo "ok: README lists all $(echo "$want" | wc -l) options"
