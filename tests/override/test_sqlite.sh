#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_sqlite.sh — sqlite3 under LD_PRELOAD gives byte-identical output.
#
# Imports 300,000 generated CSV rows, builds 200,000 more with a recursive
# CTE, indexes, aggregates, joins, window and JSON functions, deletes and
# updates, VACUUMs and checks integrity. The query output and the database
# file itself must match the reference run. Runs: reference, preloaded, and
# preloaded under the ios12-4gb device profile.
# ----------------------------------------------------------------------------
. "$(dirname "$0")/lib.bash"
zt_need sqlite3 sqlite3

awk -v rows=300000 'function rnd() { s = (s * 69069 + 1) % 4294967296; return int(s / 65536) }
    BEGIN {
        s = 7; split("red green blue cyan magenta yellow black white", c, " ")
        for (i = 1; i <= rows; i++) {
            n = rnd() % 40
            note = ""
            for (j = 0; j < n; j++) note = note sprintf("%c", 97 + rnd() % 26)
            printf "%d,%s-%d,%d,%d.%03d,\"%s, %s\"\n", i, c[1 + rnd() % 8], rnd() % 5000,
                rnd() % 97, rnd() % 10000, rnd() % 1000, note, c[1 + i % 8]
        }
    }' >"$ZT_TMP/data.csv"

cat >"$ZT_TMP/script.sql" <<'EOF'
PRAGMA page_size = 4096;
PRAGMA cache_size = -65536;
PRAGMA temp_store = MEMORY;
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL, note TEXT);
.mode csv
.import DATA_CSV t
.mode list
.headers off
SELECT 'rows', count(*), sum(grp), round(sum(val), 3) FROM t;
CREATE INDEX t_grp ON t(grp, name);
CREATE INDEX t_note ON t(note);
CREATE TABLE u(k INTEGER PRIMARY KEY, grp INTEGER, label TEXT, payload BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
INSERT INTO u SELECT x, x % 97, printf('u%08d-%s', x * 7919 % 1000003, hex(x)),
                     zeroblob(x % 700) FROM c;
SELECT 'u', count(*), sum(length(payload)), max(label) FROM u;
SELECT grp, count(*), round(avg(val), 4), min(name), max(name) FROM t GROUP BY grp ORDER BY grp;
SELECT t.grp, count(*), sum(length(u.label)) FROM t JOIN u ON u.grp = t.grp AND u.k % 1000 = t.id % 1000
  WHERE t.id < 3000 GROUP BY t.grp ORDER BY t.grp;
SELECT name, note FROM t ORDER BY note DESC, id LIMIT 50;
SELECT substr(group_concat(name, '|'), 1, 200) FROM (SELECT name FROM t WHERE note LIKE '%ab%' ORDER BY id);
SELECT id, name, rank() OVER (PARTITION BY grp ORDER BY val DESC, id) AS r FROM t
  WHERE id % 1000 = 7 ORDER BY grp, r LIMIT 100;
SELECT length(json_group_array(json_object('id', id, 'n', name))) FROM t WHERE grp < 10;
SELECT upper(replace(note, 'a', 'AAAA')) FROM t WHERE id % 20000 = 1;
DELETE FROM t WHERE id % 3 = 0;
UPDATE t SET note = note || note || printf('%d', id) WHERE id % 5 = 1;
DELETE FROM u WHERE k % 2 = 0;
SELECT 'after', count(*), sum(length(note)) FROM t;
VACUUM;
PRAGMA integrity_check;
SELECT 'pages', page_count FROM pragma_page_count;
EOF
sed -i "s|DATA_CSV|$ZT_TMP/data.csv|" "$ZT_TMP/script.sql"

workload() {
    "${ZT_RUNV[@]}" sqlite3 -bail test.db <"$ZT_TMP/script.sql" >result.txt
    # A second process reads what the first wrote.
    "${ZT_RUNV[@]}" sqlite3 -bail test.db 'SELECT count(*), sum(grp) FROM t; .dump u' | sha256sum
}

zt_ref
zt_case zt zt
zt_check_used zt
zt_compare ref zt - result.txt test.db

zt_case ios zt ZONETRACE_DEVICE=ios12-4gb
zt_check_used ios
zt_compare ref ios - result.txt test.db

# Today's iPhone: xzone (an iPhone 12 on iOS 26.1), same bytes.
zt_case ios26 zt ZONETRACE_DEVICE=iphone12-ios26
zt_check_used ios26
zt_compare ref ios26 - result.txt test.db

zt_finish
