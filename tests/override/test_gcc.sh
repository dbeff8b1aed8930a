#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_gcc.sh — gcc and g++ under LD_PRELOAD emit byte-identical code.
#
# A generated C file (structs, unions, switch tables, loops, recursion, string
# and float tables, inline functions, macros) is compiled at -O2 -g to an
# object file and at -O2 to assembly; a C++ file using the standard containers
# and algorithms is compiled with g++. The driver, cc1/cc1plus, as and collect2
# are all preloaded. Objects and assembly must match the reference run.
# ----------------------------------------------------------------------------
. "$(dirname "$0")/lib.bash"
zt_need gcc gcc

awk -v funcs=70 '
    function rnd() { s = (s * 69069 + 1) % 4294967296; return int(s / 65536) }
    BEGIN {
        s = 11
        print "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n#include <math.h>"
        print "#define MIX(a, b) (((a) << 5) ^ ((a) >> 3) ^ (b))"
        print "#define CLAMP(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))"
        print "struct node { struct node *next; int key; double weight; char name[24]; };"
        print "union word { uint64_t u; double d; unsigned char b[8]; };"
        for (f = 0; f < funcs; f++) {
            printf "static const char *names_%d[] = {", f
            for (k = 0; k < 6; k++) printf "\"n%d_%d_%x\", ", f, k, rnd()
            print "NULL};"
            printf "static const double table_%d[8] = {", f
            for (k = 0; k < 8; k++) printf "%d.%d, ", rnd() % 1000, rnd() % 100
            print "};"
            printf "static inline int helper_%d(int x) { return MIX(x, %d) %% %d; }\n", f, rnd(), 3 + rnd() % 97
            printf "int fn_%d(struct node *list, int n, uint32_t seed) {\n", f
            print "    int acc = 0; union word w; w.u = seed;"
            print "    for (struct node *p = list; p; p = p->next) {"
            printf "        switch ((p->key + n) %% %d) {\n", 5 + f % 11
            for (k = 0; k < 5 + f % 11; k++)
                printf "        case %d: acc += helper_%d(p->key * %d) + (int)(table_%d[%d] * p->weight); break;\n",
                       k, f, 1 + rnd() % 50, f, k % 8
            print "        default: acc ^= (int)strlen(p->name);"
            print "        }"
            print "    }"
            printf "    for (int i = 0; i < n; i++) acc = CLAMP(acc + i * %d, -%d, %d);\n", rnd() % 9, rnd(), rnd()
            printf "    for (int i = 0; names_%d[i]; i++) acc += (int)strlen(names_%d[i]) * w.b[i %% 8];\n", f, f
            if (f > 0) printf "    if (n > 1) acc += fn_%d(list, n / 2, seed * %du);\n", f - 1, rnd()
            printf "    return acc + (int)(sqrt((double)(n + %d)) * %d.5);\n}\n", rnd(), rnd() % 100
        }
        print "int dispatch(int which, struct node *list, int n) {"
        print "    switch (which) {"
        for (f = 0; f < funcs; f++) printf "    case %d: return fn_%d(list, n, %du);\n", f, f, rnd()
        print "    }\n    return -1;\n}"
    }' >"$ZT_TMP/gen.c"

cat >"$ZT_TMP/gen.cc" <<'EOF'
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

template <typename K, typename V> struct Index {
    std::map<K, std::vector<V>> by_key;
    std::unordered_map<V, std::set<K>> rev;
    void add(const K &k, const V &v) { by_key[k].push_back(v); rev[v].insert(k); }
    template <typename F> size_t count_if(F f) const {
        return std::count_if(by_key.begin(), by_key.end(), [&](const auto &kv) { return f(kv.first); });
    }
};

struct Shape { virtual ~Shape() = default; virtual double area() const = 0; };
struct Sq : Shape { double s; explicit Sq(double s) : s(s) {} double area() const override { return s * s; } };
struct Ci : Shape { double r; explicit Ci(double r) : r(r) {} double area() const override { return 3.14159 * r * r; } };

std::string report(int n) {
    Index<std::string, int> a;
    Index<int, long> b;
    std::vector<std::unique_ptr<Shape>> shapes;
    for (int i = 0; i < n; i++) {
        a.add("k" + std::to_string(i % 97), i);
        b.add(i % 13, long(i) * 31);
        if (i % 2) shapes.push_back(std::make_unique<Sq>(i)); else shapes.push_back(std::make_unique<Ci>(i));
    }
    std::sort(shapes.begin(), shapes.end(), [](auto &x, auto &y) { return x->area() < y->area(); });
    double total = std::accumulate(shapes.begin(), shapes.end(), 0.0,
                                   [](double t, const auto &s) { return t + s->area(); });
    std::ostringstream os;
    os << a.count_if([](const std::string &s) { return s.size() > 2; }) << ' '
       << b.count_if([](int k) { return k % 2; }) << ' ' << total;
    return os.str();
}
EOF

workload() {
    local c=("${ZT_RUNV[@]}")
    "${c[@]}" gcc -O2 -g -frandom-seed=zt -c "$ZT_TMP/gen.c" -o gen.o
    "${c[@]}" gcc -O2 -frandom-seed=zt -S "$ZT_TMP/gen.c" -o gen.s
    "${c[@]}" gcc -O1 -frandom-seed=zt -fdump-tree-optimized -c "$ZT_TMP/gen.c" -o gen-O1.o
    if command -v g++ >/dev/null; then
        "${c[@]}" g++ -O2 -g -frandom-seed=zt -c "$ZT_TMP/gen.cc" -o gencc.o
    else
        : >gencc.o
    fi
    mv ./*.optimized gen.optimized
    size gen.o gen-O1.o gencc.o
}

command -v g++ >/dev/null || zt_skip_part "g++ not installed (Debian package g++): the C++ object not compared"
zt_ref
zt_case zt zt
zt_check_used zt
zt_compare ref zt - gen.o gen.s gen-O1.o gen.optimized gencc.o

zt_finish
