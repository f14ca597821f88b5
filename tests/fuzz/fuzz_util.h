/* fuzz_util.h: small helpers shared by the fuzzing harnesses (temporary
 * files and directories, reading a file back). Header-only, static: each
 * harness is one translation unit plus regress.c or libFuzzer's main.
 *
 * Temporary files go under $TW_FUZZ_TMPDIR, else /dev/shm (a tmpfs: the
 * journal's fsyncs cost nothing there), else $TMPDIR, else /tmp. Every
 * helper aborts on a failure of the test machinery itself (disk full,
 * ...), which is not a finding about the code under test but must not
 * pass silently either.
 */
#ifndef TW_FUZZ_UTIL_H
#define TW_FUZZ_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A harness invariant: on failure print what broke (the input is saved by
 * libFuzzer or named by regress) and abort(). */
#define FZ_CHECK(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__,        \
                    __LINE__, #cond);                                         \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
            abort();                                                          \
        }                                                                     \
    } while (0)

static inline const char *fz_tmpbase(void)
{
    const char *e = getenv("TW_FUZZ_TMPDIR");
    if (e && *e)
        return e;
    if (access("/dev/shm", W_OK | X_OK) == 0)
        return "/dev/shm";
    e = getenv("TMPDIR");
    return e && *e ? e : "/tmp";
}

static inline void fz_die(const char *what)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, strerror(errno));
    abort();
}

/* Write n bytes to fd, all of them. */
static inline void fz_write_fd(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fz_die("write");
        p += w;
        n -= (size_t)w;
    }
}

/* Create path (mode 0600, must not exist) holding data[0..n). */
static inline void fz_write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        fz_die(path);
    fz_write_fd(fd, data, n);
    if (close(fd) != 0)
        fz_die("close");
}

/* A new temporary file holding data[0..n); its name goes to path (size
 * len). The caller unlinks it. */
static inline void fz_temp_file(const void *data, size_t n, const char *tag, char *path,
                                size_t len)
{
    snprintf(path, len, "%s/twfuzz-%s-XXXXXX", fz_tmpbase(), tag);
    int fd = mkstemp(path);
    if (fd < 0)
        fz_die("mkstemp");
    fz_write_fd(fd, data, n);
    if (close(fd) != 0)
        fz_die("close");
}

/* A new empty temporary directory; its name goes to path. */
static inline void fz_temp_dir(const char *tag, char *path, size_t len)
{
    snprintf(path, len, "%s/twfuzz-%s-XXXXXX", fz_tmpbase(), tag);
    if (!mkdtemp(path))
        fz_die("mkdtemp");
}

/* The whole of path, malloc'd (NUL-terminated beyond *n for convenience),
 * or NULL when it does not exist. The caller frees it. */
static inline char *fz_read_file(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return NULL;
        fz_die(path);
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        fz_die("malloc");
    for (;;) {
        if (len == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                fz_die("realloc");
            buf = nb;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            fz_die(path);
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *n = len;
    return buf;
}

/* Remove dir and the plain files in it (the harnesses make no subdirs). */
static inline void fz_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        fz_die(dir);
    struct dirent *de;
    char p[1024];
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (unlink(p) != 0)
            fz_die(p);
    }
    closedir(d);
    if (rmdir(dir) != 0)
        fz_die(dir);
}

/* Number of directory entries of dir besides . and .. */
static inline int fz_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        fz_die(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

#endif
