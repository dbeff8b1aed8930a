#!/usr/bin/env bash
# `zonetrace run --unwind fp` on scenario_sites (built with frame pointers):
# every allocation site's live blocks and bytes must be exact, as with
# libunwind in test_sites.sh, whose checks this runs.
set -euo pipefail
: "${ZT_SRC:?ZT_SRC must point at the source directory}"
exec bash "$ZT_SRC/tests/scenarios/test_sites.sh" --unwind fp
