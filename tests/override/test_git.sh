#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_git.sh — git under LD_PRELOAD builds the identical repository.
#
# With fixed names and dates, a fast-import of 1,500 generated commits, then
# 60 porcelain commits, a branch and a merge, then gc. Commit and tree hashes
# (git log --format=%H%n%T), the full patch log, blame, fsck and the object
# counts after gc must match the reference run. Every git process (and the
# helpers gc spawns: pack-objects, repack, prune…) is preloaded.
# ----------------------------------------------------------------------------
. "$(dirname "$0")/lib.bash"
zt_need git git

# fast-import stream: 1,500 commits over 120 files of generated text lines.
awk -v commits=1500 -v files=120 '
    function rnd() { s = (s * 69069 + 1) % 4294967296; return int(s / 65536) }
    BEGIN {
        s = 3; t = 1500000000
        for (c = 1; c <= commits; c++) {
            t += 600 + rnd() % 3600
            msg = sprintf("commit %d: touch %d files\n\nGenerated for the zonetrace override test.\n",
                          c, 1 + c % 7)
            printf "commit refs/heads/main\nmark :%d\n", c
            printf "author Ada Author <ada@example.org> %d +0000\n", t
            printf "committer Cy Committer <cy@example.org> %d +0000\n", t
            printf "data %d\n%s", length(msg), msg
            if (c > 1) printf "from :%d\n", c - 1
            for (k = 0; k <= c % 7; k++) {
                f = rnd() % files
                if (rnd() % 23 == 0 && c > 50) { printf "D dir%d/file%03d.txt\n", f % 9, f; continue }
                body = ""
                n = 20 + rnd() % 200
                for (l = 0; l < n; l++)
                    body = body sprintf("line %d of file %d, version %d: %08x\n", l, f, c, rnd() * (l + 1))
                printf "M 100644 inline dir%d/file%03d.txt\ndata %d\n%s\n", f % 9, f, length(body), body
            }
        }
        printf "done\n"
    }' >"$ZT_TMP/stream.fi"

# Hermetic git: no user or system config, fixed identities and dates.
export HOME=$ZT_TMP/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME="Ada Author" GIT_AUTHOR_EMAIL=ada@example.org
export GIT_COMMITTER_NAME="Cy Committer" GIT_COMMITTER_EMAIL=cy@example.org
export TZ=UTC LC_ALL=C
mkdir -p "$HOME"

workload() {
    g() { "${ZT_RUNV[@]}" git -C repo "$@"; }
    gq() { "${ZT_RUN[@]}" git -C repo "$@"; } # stderr is compared: no statistics
    "${ZT_RUNV[@]}" git init -q -b main repo
    g config gc.auto 0
    g config pack.threads 1 # threaded delta search may pick other deltas
    g fast-import --quiet <"$ZT_TMP/stream.fi"
    g checkout -q main
    local i f date
    for i in $(seq 1 60); do
        date="$((1600000000 + i * 3600)) +0000"
        printf 'porcelain %d\n%s\n' "$i" "$(seq "$i" 3 $((i * 40)) | tr '\n' ' ')" >"repo/p$((i % 13)).txt"
        f=$((i * 7 % 120))
        [ $((i % 17)) -ne 0 ] || g rm -q --ignore-unmatch "dir$((f % 9))/file$(printf %03d $f).txt"
        g add -A
        GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date g commit -q -m "porcelain commit $i"
        if [ "$i" = 30 ]; then
            g checkout -q -b side HEAD~10
            printf 'side branch\n' >repo/side.txt
            g add side.txt
            GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date g commit -q -m "side commit"
            g checkout -q main
            GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date g merge -q --no-ff -m "merge side" side
        fi
    done
    GIT_COMMITTER_DATE="1700000000 +0000" g tag -a v1 -m "tag v1"
    g log --format=%H%n%T --all >log.txt
    g log -p --stat -n 300 | sha256sum >patches.txt
    gq blame -s dir3/file012.txt >blame.txt 2>&1 || echo "no file" >blame.txt
    g diff --stat HEAD~700 HEAD >diffstat.txt
    g grep -c "version 1499" >grep.txt || true
    gq fsck --full --strict --no-progress >fsck.txt 2>&1
    g gc --quiet
    g count-objects -v >count.txt
    gq fsck --full --strict --no-progress >>fsck.txt 2>&1
    g rev-list --all --objects | sha256sum >objects.txt
    cat log.txt | wc -l
}

zt_ref
zt_case zt zt
zt_check_used zt
zt_compare ref zt - log.txt patches.txt blame.txt diffstat.txt grep.txt fsck.txt count.txt objects.txt

zt_finish
