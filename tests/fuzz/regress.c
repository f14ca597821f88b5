/* regress.c: runs a fuzzing harness without libFuzzer, as a regression
 * test: LLVMFuzzerTestOneInput over every file named on the command line
 * and every file in every directory named there (not recursive; names
 * starting with '.' are skipped; files in name order, so runs repeat).
 *
 *   regress_NAME [-q] DIR_OR_FILE...
 *
 * Linked with one tests/fuzz/fuzz_NAME.c and built by the ordinary
 * compiler (gcc, with or without ASan/UBSan: `make unit-bins`). Each file
 * is named on stderr before it runs (unless -q), so a crash or an abort()
 * of an invariant names its input. Exit status 0 when every input ran, 1
 * when a path cannot be read (a harness failure aborts instead), 2 on a
 * usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int quiet;
static long ran;

static int run_file(const char *path)
{
    size_t n;
    char *buf = fz_read_file(path, &n);
    if (!buf) {
        fprintf(stderr, "regress: %s: no such file\n", path);
        return -1;
    }
    if (!quiet)
        fprintf(stderr, "regress: %s (%zu bytes)\n", path, n);
    /* an exact-size copy, so that ASan sees a read past the input's end */
    uint8_t *in = malloc(n ? n : 1);
    if (!in)
        fz_die("malloc");
    memcpy(in, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(in, n);
    free(in);
    ran++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "regress: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn)
                fz_die("realloc");
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (!names[n])
            fz_die("strdup");
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && run_file(p) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "-q") == 0) {
        quiet = 1;
        first = 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-q] DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int rc = 0;
    for (int i = first; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "regress: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i])) {
            rc = 1;
        }
    }
    printf("%s: %ld inputs ran\n", argv[0], ran);
    return rc;
}
