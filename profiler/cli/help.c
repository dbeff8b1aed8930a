/* ----------------------------------------------------------------------------
 * help.c — the help text of every subcommand, in one place: `zonetrace
 * --help`, `zonetrace CMD --help` (exit 0, stdout), and the source a man
 * page is made from. `run`'s option list is generated from the options
 * table (cmd_run.c); the rest is here. Also the word wrapper help uses.
 * -------------------------------------------------------------------------- */
#include "charge.h"
#include "cli.h"

#include "options.h"

#include <string.h>

#define ZT_VERSION "0.1.0"

static const char top_text[] =
    "usage: zonetrace COMMAND ...\n"
    "  run [OPTIONS] [--] CMD ARGS\n"
    "        run CMD under libzonetrace and write its record file (every ZONETRACE_* option\n"
    "        is a flag: zonetrace run --help)\n"
    "  report FILE... [--pid PID] [--top N] [--depth N] [--by stack|zone|class|region]\n"
    "              [--format text|json|folded|html] [-o OUT]\n"
    "              [--at first-failure|peak|peak-va|end]\n"
    "              [--sort live|leaks|peak|first-failure|allocated|count|temporary|address-space]\n"
    "        report on a record file (text by default); --at: the state shown (default: the\n"
    "        first failure if any, else the end); --sort: the stack ranking and folded cost;\n"
    "        several records (or the parent's): the process tree, then one process in full\n"
    "  diff A.zt B.zt [--by stack|zone|class] [--sort live|allocated|count|peak|address-space]\n"
    "              [--top N] [--format text|json|folded|html] [-o OUT]\n"
    "        what grew and what shrank from record A to B\n"
    "  jetsam FILE.ips... | DIR [--process NAME] [--all] [--format text|json]\n"
    "        read Apple JetsamEvent reports: footprints, kill reasons, the implied limit\n"
    "  profiles [--sources]  list the device profiles (--sources: where each fact comes from)\n"
    "  options [--markdown]  list the ZONETRACE_* options\n"
    "  demo [--variant crash|nano|jetsam|jetsam-handled|xzone] [-o DIR]\n"
    "        run the CA::AttrList::set crash demo on an emulated iOS 12 iPhone and report\n"
    "  -V, --version         print the version\n"
    "zonetrace COMMAND --help gives a command's options.\n";

static const char report_text[] =
    "usage: zonetrace report FILE... [--top N] [--depth N] [--by stack|zone|class|region]\n"
    "                                [--format text|json|folded|html] [-o OUT]\n"
    "                                [--at MOMENT] [--sort RANKING] [--pid PID] [--only]\n"
    "  Report on a record file: how the process ended, the allocation failure that\n"
    "  explains it, the zones, the heap's address space and the stacks that hold it.\n"
    "  Several processes: given the program's record, the records its children and\n"
    "  exec'd images wrote next to it (FILE.<pid>.zt, FILE.exec.zt) are read too; or\n"
    "  name several records. The report then starts with the process tree, one line\n"
    "  per process (pid, peak heap, peak address space, command, ending, first\n"
    "  failure), and reports in full the first process that failed an allocation or\n"
    "  was killed, else the program itself (its last image after exec: run -- python3\n"
    "  through env reports python3). json adds a \"processes\" array, html the tree\n"
    "  table; folded merges every process's stacks as \"name;pid N;frames\". A\n"
    "  damaged record is one error line; the others are still reported (exit 2).\n"
    "  --pid PID    report that process in full (its last image after exec)\n"
    "  --only       FILE alone: not its children's or exec'd images' records\n"
    "  --top N      stacks or rows shown, in every format (default: 10 in text, 100 in\n"
    "               html, all in json and folded)\n"
    "  --depth N    frames shown per stack, innermost user frames first (default: text\n"
    "               fits each stack on one line, html's table 8, json and folded all)\n"
    "  --by KEY     stack (default), zone (zones and their size classes), class (every\n"
    "               zone and class pair), region (the address-space map); in every\n"
    "               format: json's view.rows, folded ZONE / ZONE;CLASS lines, html's\n"
    "               flame graph and table\n"
    "  --format F   text (default), json, folded (flamegraph.pl input: frames and live\n"
    "               bytes), html (flame graph, timeline, address-space map)\n"
    "  -o OUT       write to OUT instead of stdout\n"
    "  --at MOMENT  the state every view shows, as the record froze it: first-failure (the\n"
    "               first NULL or failed region map; the default when one happened and no\n"
    "               signal ended the process), peak (of live heap), peak-va (of heap\n"
    "               address space), end (otherwise the default)\n"
    "  --sort R     the stack ranking and the folded output's cost: live (at the moment;\n"
    "               default), leaks (live at the end), peak (each stack's own peak),\n"
    "               first-failure, allocated (bytes), count (allocations), temporary\n"
    "               (freed with no other allocation of the thread in between, as heaptrack\n"
    "               counts them), address-space (charged, below)\n"
    "               (zone and class rows: live bytes unless --sort is given)\n"
    "  C++ names are shortened as heaptrack does (template arguments become <>); the\n"
    "  json report keeps the full name in function_full.\n"
    "  Byte counts are allocated block sizes; stacks also show live bytes as requested\n"
    "  (req), exact when all of a stack's requests had one size, else marked ~.\n"
    "  Sampled records (--stacks sample): a stack's live bytes are an unbiased\n"
    "  estimate shown with its 95 % confidence interval; one under N ln 40 (1.84 MiB\n"
    "  at the default N, 512 KiB) is below the sampling resolution: a stack that small\n"
    "  is missed more than 2.5 % of the time. Zone and class figures are exact at a\n"
    "  walked moment (--at first-failure, peak, peak-va), estimates at the end\n"
    "  (README, \"Sampling\"). With --stacks off they are exact, from the last walk.\n";
/* Apart from report_text, which would pass the 4095 characters a C99
 * compiler must take in one literal; zt_cli_help joins them. */
static const char report_charged_text[] = "\n" ZT_CHARGED_DEFINITION;

static const char profiles_text[] =
    "usage: zonetrace profiles [--sources]\n"
    "  The device profiles: each row a real device and the allocator of its OS (cores,\n"
    "  RAM, page size, heap address-space windows, nano, jetsam limit). --sources adds\n"
    "  where each fact comes from. A model id (iPhone8,2) also names its row.\n";

static const char options_text[] =
    "usage: zonetrace options [--markdown]\n"
    "  The ZONETRACE_* options: environment variable, default, range, help. Each is also\n"
    "  a `zonetrace run` flag (ZONETRACE_VA_LIMIT is --va-limit). --markdown prints the\n"
    "  list as the README has it.\n";

static const char demo_text[] =
    "usage: zonetrace demo [--variant crash|nano|jetsam|jetsam-handled|xzone] [-o DIR]\n"
    "  Run a seed story on an emulated iPhone 6s Plus (iOS 12.1.4) and report on it:\n"
    "  crash (default): CA::AttrList::set's SIGSEGV at 0x8 after malloc returned NULL\n"
    "  with memory to spare; nano: the nano class delegation; jetsam: a cache that\n"
    "  ignores the memory warning is killed at the device's limit; jetsam-handled: its\n"
    "  warning handler trims the cache; xzone: an iOS 26 iPhone 12 (xzone malloc) whose\n"
    "  pointer segments, never returned, exhaust its address space. -o DIR: where the record and "
    "the HTML report go\n"
    "  (an existing folder; default: next to zonetrace).\n";

static const char diff_text[] =
    "usage: zonetrace diff A.zt B.zt [--by stack|zone|class] [--sort METRIC] [--top N]\n"
    "                      [--format text|json|folded|html] [-o OUT]\n"
    "  What grew and what shrank from record A to record B. Stacks match by their\n"
    "  symbolized frames (function names), so two runs, or two builds, of one program\n"
    "  compare. METRIC: live (live bytes at the end, the default), allocated (bytes\n"
    "  allocated), count (allocations), peak (peak live bytes), address-space (address\n"
    "  space charged). Folded output is difffolded.pl's \"frames A B\", which\n"
    "  flamegraph.pl draws as a differential flame graph. A record whose process ran\n"
    "  exec (env, a shim script) is followed to the program's last image (.exec.zt).\n";

const char *zt_cli_help_text(const char *cmd)
{
    if (!cmd) return top_text;
    if (strcmp(cmd, "report") == 0) {
        static char whole[sizeof report_text + sizeof report_charged_text];
        if (!whole[0]) snprintf(whole, sizeof whole, "%s%s", report_text, report_charged_text);
        return whole;
    }
    if (strcmp(cmd, "profiles") == 0) return profiles_text;
    if (strcmp(cmd, "options") == 0) return options_text;
    if (strcmp(cmd, "demo") == 0) return demo_text;
    if (strcmp(cmd, "diff") == 0) return diff_text;
    return top_text;
}

const char *zt_cli_version(void)
{
    return "zonetrace " ZT_VERSION;
}

void zt_cli_wrap(FILE *out, const char *text, unsigned indent, unsigned width)
{
    unsigned col = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, " ");
        if (!w) break;
        if (col && col + 1 + w > width) {
            fputc('\n', out);
            col = 0;
        }
        if (!col) {
            fprintf(out, "%*s", (int)indent, "");
            col = indent;
        } else {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, w, out);
        col += (unsigned)w;
        p += w;
    }
    if (col) fputc('\n', out);
}

void zt_cli_option_flag(const zt_option_desc_t *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "--%s", d->name);
    for (char *p = buf + 2; *p; p++)
        if (*p == '_') *p = '-';
}
