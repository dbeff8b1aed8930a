/* ----------------------------------------------------------------------------
 * cli.c — what every subcommand of the CLI uses (cli.h): the one-line error
 * and the directory of the running executable. It calls no other file of
 * the CLI (the order of calls is in cli.h).
 * -------------------------------------------------------------------------- */
#include "cli.h"
#include "host.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <mach-o/dyld.h>
#include <stdlib.h>
#endif

void zt_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zt_host_vmessage(fmt, ap);
    va_end(ap);
}

const char *zt_cli_exe_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
#if defined(__APPLE__)
        char raw[PATH_MAX];
        uint32_t cap = sizeof raw;
        ssize_t n = -1;
        if (_NSGetExecutablePath(raw, &cap) == 0 && realpath(raw, dir)) n = (ssize_t)strlen(dir);
#else
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
#endif
        if (n <= 0) {
            strcpy(dir, ".");
        } else {
            dir[n] = 0;
            char *slash = strrchr(dir, '/');
            if (slash && slash != dir)
                *slash = 0;
            else if (slash)
                slash[1] = 0;
        }
    }
    return dir;
}

int zt_cli_close_output(FILE *out, const char *out_path)
{
    if (out != stdout) {
        if (ferror(out) | (fclose(out) != 0)) {
            zt_cli_error("%s: write failed: %s", out_path, strerror(errno));
            return ZT_CLI_EXIT_USAGE;
        }
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        zt_cli_error("writing the output failed: %s", strerror(errno));
        return ZT_CLI_EXIT_USAGE;
    }
    return 0;
}
