/* tw_test_tmpdir.h: a fresh temporary directory for the unit tests that
 * work on real files (config, journal, EDF recorder, PortAudio fixtures).
 *
 * Define TT_TMPDIR_NAME (e.g. "test_journal") before including it to use
 * setup_tmpdir / teardown_tmpdir as cmocka setup and teardown: each makes
 * tmpdir = $TMPDIR (or /tmp)/NAME.XXXXXX, then removes it with all it
 * holds. Everything here is static: each test file includes it once. */
#ifndef TW_TEST_TMPDIR_H
#define TW_TEST_TMPDIR_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256] __attribute__((unused));

/* Remove path and everything under it (directories are made writable
 * and searchable first, so a test may leave read-only ones). 0 when gone
 * (or never there), -1 otherwise. */
static inline int tt_rm_rf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(sb.st_mode))
        return unlink(path);
    chmod(path, 0700);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", path, de->d_name) >= (int)sizeof p || tt_rm_rf(p) < 0)
            rc = -1;
    }
    closedir(d);
    return rmdir(path) < 0 ? -1 : rc;
}

/* Make a new directory $TMPDIR (or /tmp)/NAME.XXXXXX; its path in
 * buf[len]. 0, or -1 (reported on stderr). */
static inline int tt_mkdtemp(char *buf, size_t len, const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, len, "%s/%s.XXXXXX", t && *t ? t : "/tmp", name);
    if (!mkdtemp(buf)) {
        fprintf(stderr, "mkdtemp %s: %s\n", buf, strerror(errno));
        return -1;
    }
    return 0;
}

#ifdef TT_TMPDIR_NAME
static inline int setup_tmpdir(void **state)
{
    (void)state;
    return tt_mkdtemp(tmpdir, sizeof tmpdir, TT_TMPDIR_NAME);
}

static inline int teardown_tmpdir(void **state)
{
    (void)state;
    if (tt_rm_rf(tmpdir) < 0) {
        fprintf(stderr, "cannot remove %s\n", tmpdir);
        return -1;
    }
    return 0;
}
#endif

/* tmpdir/name in buf[len]. */
static inline void tpath(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

#endif
