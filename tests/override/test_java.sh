#!/usr/bin/env bash
# ----------------------------------------------------------------------------
# test_java.sh — the JVM under LD_PRELOAD: javac's class files and a
# multi-threaded program's output are byte-identical.
#
# HotSpot is a demanding preload client: dozens of threads, its own SIGSEGV
# handling (implicit null checks, safepoint polls), large aligned mallocs,
# and pthread_getattr_np called by every new thread before anything else
# (glibc allocates inside it while holding the thread's lock). Runs:
# reference, preloaded, and preloaded with the profiler on (full stacks,
# frame-pointer unwinding, then libunwind).
# ----------------------------------------------------------------------------
# A deadlock shows as a timeout; each JVM step takes seconds, not minutes.
: "${ZT_STEP_TIMEOUT:=120}"
. "$(dirname "$0")/lib.bash"
zt_need java openjdk-17-jdk-headless
zt_need javac openjdk-17-jdk-headless

mkdir -p "$ZT_TMP/src"
cat >"$ZT_TMP/src/Work.java" <<'EOF'
import java.security.MessageDigest;
import java.util.*;
import java.util.concurrent.*;
import java.util.stream.*;

public class Work {
    static String hex(byte[] b) { return HexFormat.of().formatHex(b).substring(0, 24); }
    static String digest(String s) throws Exception {
        return hex(MessageDigest.getInstance("SHA-256").digest(s.getBytes("UTF-8")));
    }
    public static void main(String[] args) throws Exception {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < 300000; i++) m.put("k" + (i * 7919 % 100003), i);
        String keys = m.keySet().stream().sorted().limit(20000).collect(Collectors.joining(","));
        System.out.println("map " + m.size() + " " + digest(keys));
        ExecutorService ex = Executors.newFixedThreadPool(8);
        List<Future<String>> fs = new ArrayList<>();
        for (int t = 0; t < 16; t++) {
            final int n = t;
            fs.add(ex.submit(() -> {
                StringBuilder sb = new StringBuilder();
                TreeMap<Integer, String> tm = new TreeMap<>();
                for (int i = 0; i < 50000; i++) { sb.append(n).append(':').append(i); tm.put(i * n, sb.substring(Math.max(0, sb.length() - 9))); }
                return digest(sb.toString() + tm.toString().length());
            }));
        }
        for (Future<String> f : fs) System.out.println("task " + f.get());
        ex.shutdown();
        long total = IntStream.range(0, 2000000).parallel().mapToLong(i -> (long) i * i % 1000).sum();
        System.out.println("stream " + total);
        // Direct buffers are malloc'd by the JVM.
        long sum = 0;
        for (int i = 0; i < 200; i++) { java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(65536 + i * 512); b.put(0, (byte) i); sum += b.get(0) + b.capacity(); }
        System.out.println("direct " + sum);
    }
}
EOF

workload() {
    mkdir classes
    "${ZT_RUNV[@]}" javac -d classes "$ZT_TMP/src/Work.java"
    "${ZT_RUNV[@]}" java -Xmx256m -cp classes Work >out.txt
    (cd classes && find . -name '*.class' | sort | xargs sha256sum) >classes.txt
}

zt_ref
zt_case zt zt
zt_check_used zt
zt_compare ref zt out.txt classes.txt

zt_case prof-fp zt ZONETRACE_STACKS=full ZONETRACE_UNWIND=fp
zt_check_used prof-fp
zt_compare ref prof-fp out.txt classes.txt

zt_case prof-lu zt ZONETRACE_STACKS=full ZONETRACE_UNWIND=libunwind
zt_check_used prof-lu
zt_compare ref prof-lu out.txt classes.txt

zt_finish
