/* children.c — a process tree for test_report_tree.sh: the parent forks a
 * child that allocates and exits 0, then forks a child that execs this
 * program again ("child"), which allocates, asks for more than any
 * address space holds (NULL: an allocation failure), and exits with 3.
 * Three processes, three records: FILE, FILE.<pid>.zt, FILE.<pid>.zt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile void *keep;

static void hold(size_t bytes)
{
    char *p = malloc(bytes);
    if (p) memset(p, 1, bytes);
    keep = p;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        hold(200000);
        keep = malloc((size_t)1 << 52); /* 4 PiB: NULL */
        return keep ? 1 : 3;
    }
    hold(100000);
    pid_t a = fork();
    if (a == 0) {
        hold(300000);
        exit(0);
    }
    pid_t b = fork();
    if (b == 0) {
        execl(argv[0], argv[0], "child", (char *)NULL);
        _exit(127);
    }
    int sa = 0, sb = 0;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    printf("children: %d %d\n", WEXITSTATUS(sa), WEXITSTATUS(sb));
    return 0;
}
