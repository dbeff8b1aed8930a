/* ----------------------------------------------------------------------------
 * endings.c — ends the way its argument says, for test_endings.sh:
 * return, exit, _exit, _Exit, abort, segv, term, hup, int, kill, exec,
 * threads (another thread calls exit(3) while the main one allocates),
 * fexec (fexecve of its own binary, which then exits 3),
 * signal (asks signal() for SIGTERM's disposition, which must read SIG_DFL
 * as without zonetrace, puts it back and raises SIGTERM; exit 4 otherwise).
 * It allocates first, so the runtime has a record open.
 * -------------------------------------------------------------------------- */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile keep[64];

static void *exiter(void *arg)
{
    (void)arg;
    usleep(20000);
    exit(3);
}

static void *churn(void *arg)
{
    void *mine[64] = {0};
    (void)arg;
    for (unsigned i = 0;; i++) {
        free(mine[i % 64]);
        mine[i % 64] = malloc(32 + i % 200);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    for (unsigned i = 0; i < 64; i++)
        keep[i] = malloc(100);
    const char *how = argc > 1 ? argv[1] : "return";
    if (strcmp(how, "return") == 0) return 3;
    if (strcmp(how, "exit") == 0) exit(3);
    if (strcmp(how, "_exit") == 0) _exit(3);
    if (strcmp(how, "_Exit") == 0) _Exit(3);
    if (strcmp(how, "abort") == 0) abort();
    if (strcmp(how, "segv") == 0) {
        volatile int *p = (int *)8;
        *p = 1;
    }
    if (strcmp(how, "term") == 0) raise(SIGTERM);
    if (strcmp(how, "hup") == 0) kill(getpid(), SIGHUP);
    if (strcmp(how, "int") == 0) raise(SIGINT);
    if (strcmp(how, "kill") == 0) raise(SIGKILL);
    if (strcmp(how, "signal") == 0) {
        void (*was)(int) = signal(SIGTERM, SIG_IGN);
        if (was != SIG_DFL) exit(4);
        if (signal(SIGTERM, SIG_DFL) != SIG_IGN) exit(5);
        raise(SIGTERM);
    }
    if (strcmp(how, "exec") == 0) {
        execl(argv[0], argv[0], "exit", (char *)NULL);
        return 99;
    }
    if (strcmp(how, "fexec") == 0) {
        extern char **environ;
        char *args[] = {argv[0], (char *)"exit", NULL};
        int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        fexecve(fd, args, environ);
        return 99;
    }
    if (strcmp(how, "threads") == 0) {
        pthread_t t[3];
        pthread_create(&t[0], NULL, churn, NULL);
        pthread_create(&t[1], NULL, churn, NULL);
        pthread_create(&t[2], NULL, exiter, NULL);
        churn(NULL);
    }
    fprintf(stderr, "endings: unknown ending %s\n", how);
    return 2;
}
