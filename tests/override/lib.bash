# ----------------------------------------------------------------------------
# lib.bash — shared harness for the LD_PRELOAD override tests (tests/override/*.sh).
#
# Each test defines a bash function `workload` that runs the program under test
# through "$ZT_RUN" (empty-ish for the reference run, LD_PRELOAD=… for the
# others) inside a fresh working directory, writes what must match into files
# there, and prints to stdout. zt_case runs the workload once per mode and
# zt_compare checks the chosen files byte for byte against the reference run.
#
# Environment:
#   ZT_BUILD         build dir holding libzonetrace.so (ctest sets it; default
#                    <this dir>/../../build)
#   ZT_PRELOAD_LIB   preload this library instead (e.g. libjemalloc.so.2 as a
#                    stand-in while the zone is unfinished)
#   ZT_STEP_TIMEOUT  seconds before one command counts as hung (300)
#   ZT_KEEP_TMP=1    keep the temporary directory for inspection
#   ZT_EXTRA_ENV     extra VAR=VALUE words for every preloaded command, to run
#                    the suite under another configuration, e.g.
#                    "ZONETRACE_STACKS=full" or "ZONETRACE_DEVICE=ios12-1gb".
#                    With ZONETRACE_STACKS and no ZONETRACE_OUT, each process
#                    writes its record under the temporary directory and
#                    `zonetrace report` must accept the largest ones.
#
# The workload runs each command under test as "${ZT_RUN[@]}" CMD (preloaded,
# quiet) or "${ZT_RUNV[@]}" CMD (preloaded, statistics at exit on stderr).
# Proof that the preloaded run really used the library: ZT_RUNV logs the
# dynamic linker's symbol bindings (malloc must bind to the library) and, for
# libzonetrace, sets ZONETRACE_VERBOSE=1 so that the library's exit statistics
# ("zonetrace: …" on stderr) must appear; for a stand-in jemalloc it sets
# MALLOC_CONF=stats_print:true. Verbose output would break programs that check
# a child's stderr (Python's test suite, git), so such steps use ZT_RUN. The
# workload's own stderr is kept (shown on failure) but not compared; steps
# whose stderr matters redirect it to a file that the test compares.
# ----------------------------------------------------------------------------

ZT_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${ZT_BUILD:=$ZT_HERE/../../build}"
: "${ZT_STEP_TIMEOUT:=300}"
ZT_LIB=${ZT_PRELOAD_LIB:-$ZT_BUILD/libzonetrace.so}
ZT_NAME=$(basename "$0" .sh)
ZT_FAILED=0
ZT_SKIPPED= # the first partial skip's reason

zt_log() { echo "$ZT_NAME: $*"; }
zt_fail() { echo "$ZT_NAME: FAIL: $*" >&2; ZT_FAILED=1; }
# Exit status 77 is ctest's "skipped" (SKIP_RETURN_CODE): a skip never
# shows as a pass. zt_skip stops the test; zt_skip_part notes that part of
# it cannot run, the rest goes on, and zt_finish then exits 77 unless a
# check failed.
zt_skip() { echo "$ZT_NAME: SKIP: $*"; exit 77; }
zt_skip_part() { echo "$ZT_NAME: SKIP (part): $*"; [ -n "$ZT_SKIPPED" ] || ZT_SKIPPED=$*; }
zt_die() { echo "$ZT_NAME: FAIL: $*" >&2; exit 1; }

# Which library we preload decides how to ask it for its exit statistics.
# ZT_MARKER matches its exit statistics, ZT_BANNER the line it prints when it
# initialises (empty: none), ZT_NOISE all its verbose lines (hidden on failure).
case "$(basename "$ZT_LIB")" in
    libzonetrace*)
        ZT_VERBOSE_ENV=(ZONETRACE_VERBOSE=1)
        ZT_MARKER='^zonetrace: zone [0-9]'
        ZT_BANNER='^zonetrace: zonetrace [0-9]'
        ZT_NOISE='^zonetrace: (option |zone [0-9]|heap address space|zonetrace [0-9])'
        ;;
    libjemalloc*)
        ZT_VERBOSE_ENV=(MALLOC_CONF=stats_print:true)
        ZT_MARKER='Begin jemalloc statistics'; ZT_BANNER=''; ZT_NOISE='^$NEVER'
        ;;
    *) ZT_VERBOSE_ENV=(); ZT_MARKER=''; ZT_BANNER=''; ZT_NOISE='^$NEVER' ;;
esac

[ -f "$ZT_LIB" ] || zt_die "preload library $ZT_LIB not found (build it, or set ZT_BUILD / ZT_PRELOAD_LIB)"
ZT_LIB=$(cd "$(dirname "$ZT_LIB")" && pwd)/$(basename "$ZT_LIB")

# The library must at least load into a trivial program, or every later
# failure would be noise.
if ! probe=$(timeout 20 env LD_PRELOAD="$ZT_LIB" /bin/true 2>&1); then
    zt_die "LD_PRELOAD=$ZT_LIB /bin/true fails: ${probe:-killed or crashed}"
fi

# Programs must exist; otherwise skip with the package to install.
zt_need() { # zt_need PROGRAM DEBIAN_PACKAGE
    command -v "$1" >/dev/null 2>&1 || zt_skip "$1 not installed (Debian package $2, installed best-effort by .ci/deps.sh)"
}

ZT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/zt-$ZT_NAME.XXXXXX") || zt_die "mktemp failed"
zt_cleanup() {
    if [ "${ZT_KEEP_TMP:-0}" = 1 ]; then echo "$ZT_NAME: kept $ZT_TMP"; else rm -rf "$ZT_TMP"; fi
}
trap zt_cleanup EXIT
trap 'exit 130' INT TERM

# zt_case LABEL MODE [VAR=VALUE...]
# Call it as a plain command, never after `if`, `&&`, `||` or `!`: bash
# ignores `set -e` inside anything run in such a context, and the workload
# relies on `set -e` to stop at its first failing command.
# MODE: plain (no preload) or zt (preloaded, verbose statistics on). Extra
# VAR=VALUE pairs are added to the preloaded commands' environment (e.g.
# ZONETRACE_DEVICE=ios12-4gb). Runs `workload` in $ZT_TMP/LABEL with stdout to
# $ZT_TMP/LABEL.out and stderr to $ZT_TMP/LABEL.err. Returns its status.
zt_case() {
    local label=$1 mode=$2; shift 2
    # Every case runs in the same directory (then renamed to LABEL): paths
    # such as the compiler's DW_AT_comp_dir must not differ between runs.
    local dir=$ZT_TMP/run rc t0 t1
    rm -rf "$dir" "$ZT_TMP/$label"; mkdir -p "$dir"
    if [ "$mode" = plain ]; then
        ZT_RUN=(timeout -k 5 "$ZT_STEP_TIMEOUT" env)
        ZT_RUNV=("${ZT_RUN[@]}")
    else
        local extra=()
        read -r -a extra <<<"${ZT_EXTRA_ENV:-}"
        local all=" ${ZT_EXTRA_ENV:-} $* "
        if [[ $all == *" ZONETRACE_STACKS="* ]] && [[ $all != *" ZONETRACE_OUT="* ]]; then
            # One record per process (FORMAT.md: a process whose pid is not
            # ZONETRACE_ROOT_PID writes <out>.<pid>.zt), outside the workdir.
            mkdir -p "$ZT_TMP/$label.prof"
            extra+=(ZONETRACE_OUT="$ZT_TMP/$label.prof/rec" ZONETRACE_ROOT_PID=0)
        fi
        ZT_RUN=(timeout -k 5 "$ZT_STEP_TIMEOUT" env LD_PRELOAD="$ZT_LIB" "${extra[@]}" "$@")
        mkdir -p "$ZT_TMP/$label.ld"
        ZT_RUNV=("${ZT_RUN[@]}" "${ZT_VERBOSE_ENV[@]}" LD_DEBUG=bindings
                 LD_DEBUG_OUTPUT="$ZT_TMP/$label.ld/bind")
    fi
    t0=$(date +%s)
    ( set -e; cd "$dir"; workload ) >"$ZT_TMP/$label.out" 2>"$ZT_TMP/$label.err"
    rc=$?
    t1=$(date +%s)
    mv "$dir" "$ZT_TMP/$label"
    local how="$mode${*:+ $*}"
    [ "$mode" = plain ] || how="$how${ZT_EXTRA_ENV:+ $ZT_EXTRA_ENV}"
    zt_log "$label ($how): exit $rc, $((t1 - t0)) s"
    if [ $rc -ne 0 ]; then
        local why="exited with status $rc"
        [ $rc -eq 124 ] && why="timed out: a command ran over ${ZT_STEP_TIMEOUT} s (hang or deadlock?)"
        [ $rc -gt 128 ] && why="exited with status $rc: a command was killed by signal $((rc - 128))"
        zt_fail "$label: workload $why"
        zt_show_err "$label"
    fi
    return $rc
}

# zt_ref — the reference run (label "ref", no preload); it must pass.
zt_ref() {
    zt_case ref plain
    [ $? -eq 0 ] || zt_die "the reference run (without LD_PRELOAD) failed: the test itself is broken"
    zt_plain_clean ref
}

zt_show_err() {
    echo "---- last lines of $1 stderr ----" >&2
    grep -Ev -- "$ZT_NOISE" "$ZT_TMP/$1.err" | tail -n 25 >&2
    echo "----" >&2
}

# zt_compare REF LABEL FILE... — FILE "-" means the captured stdout.
zt_compare() {
    local ref=$1 label=$2 f a b; shift 2
    for f in "$@"; do
        if [ "$f" = - ]; then a=$ZT_TMP/$ref.out; b=$ZT_TMP/$label.out
        else a=$ZT_TMP/$ref/$f; b=$ZT_TMP/$label/$f; fi
        if [ ! -e "$a" ]; then zt_fail "reference run did not produce $f"; continue; fi
        if [ ! -e "$b" ]; then zt_fail "$label did not produce $f"; continue; fi
        if ! cmp -s "$a" "$b"; then
            zt_fail "$label: ${f/#-/stdout} differs from the $ref run: $(cmp "$a" "$b" 2>&1 | head -n 1)"
            if grep -Iq . "$a"; then diff "$a" "$b" | head -n 20 >&2; fi
        fi
    done
}

# zt_check_used LABEL [nostats] — the preloaded run used the library: the
# dynamic linker's binding log (LD_DEBUG=bindings, one file per process, set by
# ZT_RUNV) shows malloc bound to it, the library announced itself, and its exit
# statistics are on stderr (unless "nostats": coreutils and xz close stderr at
# exit, before the library prints them).
zt_check_used() {
    local label=$1 procs stats banner
    procs=$(grep -l "to $ZT_LIB \[0\]: normal symbol \`malloc'" "$ZT_TMP/$label.ld"/bind.* 2>/dev/null |
            wc -l)
    if [ "$procs" -eq 0 ]; then
        zt_fail "$label: no process bound malloc to $ZT_LIB (LD_DEBUG=bindings): not preloaded?"
        return
    fi
    if [ -z "$ZT_MARKER" ]; then
        zt_log "$label: malloc bound to $(basename "$ZT_LIB") in $procs processes"
        return
    fi
    stats=$(grep -c -- "$ZT_MARKER" "$ZT_TMP/$label.err")
    banner=-
    if [ -n "$ZT_BANNER" ]; then
        banner=$(grep -c -- "$ZT_BANNER" "$ZT_TMP/$label.err")
        if [ "$banner" -eq 0 ]; then
            zt_fail "$label: malloc bound to $ZT_LIB but it never printed its ZONETRACE_VERBOSE banner"
            return
        fi
    fi
    if [ "$stats" -eq 0 ] && [ "${2:-}" != nostats ]; then
        zt_fail "$label: malloc bound to $ZT_LIB in $procs processes but no exit statistics" \
                "('$ZT_MARKER') on stderr"
        return
    fi
    zt_log "$label: malloc bound to $(basename "$ZT_LIB") in $procs processes;" \
           "$banner banners, $stats exit statistics lines"
    zt_check_records "$label"
}

# zt_check_records LABEL — with profiling on (ZONETRACE_STACKS), the three largest
# record files must be accepted by `zonetrace report`.
zt_check_records() {
    local dir=$ZT_TMP/$1.prof f n cli=$ZT_BUILD/zonetrace
    [ -d "$dir" ] || return 0
    n=$(find "$dir" -name '*.zt' | wc -l)
    if [ "$n" -eq 0 ]; then
        zt_fail "$1: profiling was on but no record file was written in $dir"
        return
    fi
    [ -x "$cli" ] || { zt_skip_part "$1: $n record files; $cli not built, reports not checked"; return; }
    for f in $(ls -S "$dir"/*.zt | head -n 3); do
        if ! "$cli" report "$f" --top 3 >"$f.report" 2>&1; then
            zt_fail "$1: zonetrace report rejects $(basename "$f"): $(head -n 3 "$f.report")"
        fi
    done
    zt_log "$1: $n record files; reports of the largest ones OK"
}

# zt_plain_clean LABEL — the reference run must not show the marker.
zt_plain_clean() {
    [ -n "$ZT_MARKER" ] || return 0
    if grep -Eq -- "$ZT_MARKER${ZT_BANNER:+|$ZT_BANNER}" "$ZT_TMP/$1.err"; then
        zt_fail "$1: reference run shows '$ZT_MARKER': LD_PRELOAD leaked into it?"
    fi
}

zt_finish() {
    if [ "$ZT_FAILED" -ne 0 ]; then
        [ "${ZT_KEEP_TMP:-0}" = 1 ] || echo "$ZT_NAME: (set ZT_KEEP_TMP=1 to keep $ZT_TMP)" >&2
        echo "$ZT_NAME: FAILED" >&2
        exit 1
    fi
    if [ -n "$ZT_SKIPPED" ]; then
        echo "$ZT_NAME: SKIP: $ZT_SKIPPED (everything else passed)"
        exit 77
    fi
    echo "$ZT_NAME: PASS"
    exit 0
}
