/* journal.c: see journal.h.
 *
 * State: at most one day file is open (fd). `clean` says the file is known
 * to end at a line end: it is set when we create the file or after its
 * tail was checked (recover_fd), and every write failure closes the file,
 * so the next open checks the tail again. That one rule covers a crash of
 * an earlier run, a fragment we could not truncate away, and a file some
 * other program left without its last '\n'.
 */
#include "journal.h"
#include "log.h"
#include "tw_clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define DAY_S 86400              /* seconds per UTC day (POSIX time has no leap seconds) */
#define FSYNC_S_MAX 86400.0      /* s, largest fsync interval accepted */
#define CHECK_S_MAX 1.0          /* s, longest time between checks that the day file is in place */
#define FILE_MODE 0640
#define DIR_MODE 0750
#define SIDECAR_MAX 9999         /* PATH.partial-1 .. PATH.partial-9999 */
#define SIDECAR_SUFFIX_MAX 16    /* strlen(".partial-9999") + margin */
#define NAME_PREFIX "twitchd-"
#define NAME_SUFFIX ".jsonl"
#define NAME_LEN 24              /* strlen("twitchd-YYYY-MM-DD.jsonl") */

struct tw_journal {
    char dir[TW_JOURNAL_DIR_MAX + 1];
    double fsync_s;
    int fd;                      /* the current day file, -1 when none is open */
    int64_t day;                 /* its UTC day number (days since 1970-01-01) */
    int clean;                   /* 1: the file is known to end at a line end */
    int dirty;                   /* 1: lines written since the last fsync */
    int have_last_sync;          /* 0: tw_journal_sync has not fsync'd yet */
    struct timespec last_sync;   /* CLOCK_MONOTONIC of the last fsync by tw_journal_sync */
    char path[TW_JOURNAL_PATH_MAX]; /* the current (or last tried) day file */
    off_t kept;                  /* bytes of the open file last seen in place at path */
    int orphan;                  /* 1: the open file was deleted, not yet recreated */
    int have_last_check;         /* 0: check_file has not run yet */
    struct timespec last_check;  /* CLOCK_MONOTONIC of the last check_file by tw_journal_sync */
    tw_journal_status st;
};

/* ---- small helpers ------------------------------------------------------ */


static int64_t realtime_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

/* Record a failure: msg is the whole message, e the errno. */
static void record_fail(tw_journal *j, int e, int64_t now_s, const char *msg)
{
    j->st.error = e ? e : EIO;
    snprintf(j->st.msg, sizeof j->st.msg, "%s", msg);
    if (j->st.fail_since_s == 0)
        j->st.fail_since_s = now_s ? now_s : 1;
}

static void record_op_fail(tw_journal *j, int e, int64_t now_s, const char *op,
                           const char *path)
{
    char m[sizeof j->st.msg];
    snprintf(m, sizeof m, "%s %s: %s", op, path, strerror(e));
    record_fail(j, e, now_s, m);
}

static int fsync_fd(int fd)
{
    int r;
    do
        r = fsync(fd);
    while (r < 0 && errno == EINTR);
    return r;
}

/* fsync the directory holding path (dir itself when is_dir). -1, errno. */
static int fsync_dir_of(const char *path, int is_dir)
{
    char d[TW_JOURNAL_PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    if (!is_dir) {
        char *slash = strrchr(d, '/');
        if (!slash)
            snprintf(d, sizeof d, ".");
        else if (slash == d)
            d[1] = '\0';
        else
            *slash = '\0';
    }
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync_fd(fd), e = errno;
    close(fd);
    errno = e;
    return r;
}

/* Write all of buf (count bytes); *done gets the bytes written. 0, or the
 * errno of the failure. */
static int write_all(int fd, const char *buf, size_t count, size_t *done)
{
    size_t off = 0;
    while (off < count) {
        ssize_t w = write(fd, buf + off, count - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            *done = off;
            return w < 0 ? errno : EIO;
        }
        off += (size_t)w;
    }
    *done = off;
    return 0;
}

/* line + '\n' in one writev (continued after a short write); *done gets
 * the bytes written. 0, or the errno of the failure. */
static int write_line(int fd, const char *line, size_t len, size_t *done)
{
    static const char nl = '\n';
    size_t total = len + 1, off = 0;
    while (off < total) {
        struct iovec v[2];
        int n = 0;
        if (off < len) {
            v[n].iov_base = (void *)(line + off);
            v[n++].iov_len = len - off;
        }
        v[n].iov_base = (void *)&nl;
        v[n++].iov_len = 1;
        ssize_t w = writev(fd, v, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            *done = off;
            return w < 0 ? errno : EIO;
        }
        off += (size_t)w;
    }
    *done = total;
    return 0;
}

static int pread_all(int fd, char *buf, size_t count, off_t at)
{
    size_t off = 0;
    while (off < count) {
        ssize_t r = pread(fd, buf + off, count - off, at + (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {
            errno = EIO; /* the file shrank under us */
            return -1;
        }
        off += (size_t)r;
    }
    return 0;
}

static int64_t day_of(time_t s)
{
    int64_t t = (int64_t)s;
    return t >= 0 ? t / DAY_S : -((-t + DAY_S - 1) / DAY_S);
}

/* DIR/twitchd-YYYY-MM-DD.jsonl of day number day. -1 if it does not fit. */
static int day_path(const char *dir, int64_t day, char *buf, size_t len)
{
    time_t t = (time_t)(day * DAY_S);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -1;
    int n = snprintf(buf, len, "%s/" NAME_PREFIX "%04d-%02d-%02d" NAME_SUFFIX, dir,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* 1 if name is exactly twitchd-YYYY-MM-DD.jsonl (digits where Y/M/D are). */
static int is_day_name(const char *name)
{
    if (strlen(name) != NAME_LEN || strncmp(name, NAME_PREFIX, 8) != 0 ||
        strcmp(name + 18, NAME_SUFFIX) != 0)
        return 0;
    const char *d = name + 8; /* YYYY-MM-DD */
    for (int i = 0; i < 10; i++) {
        int dash = i == 4 || i == 7;
        if (dash ? d[i] != '-' : (d[i] < '0' || d[i] > '9'))
            return 0;
    }
    return 1;
}

/* ---- setting a partial last line aside ---------------------------------- */

/* The rule of journal.h on the open file fd (named path). On failure: -1,
 * errno set, reason in err, the file as it was. */
static int recover_fd(int fd, const char *path, tw_journal_recovered *rec, char *err,
                      size_t errlen)
{
    memset(rec, 0, sizeof *rec);
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        tw_set_err(err, errlen, "stat %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
        return 0;

    /* Find the last '\n', reading backwards. */
    char buf[4096];
    off_t size = sb.st_size, pos = size, keep = 0;
    int first = 1;
    while (pos > 0) {
        size_t n = pos < (off_t)sizeof buf ? (size_t)pos : sizeof buf;
        if (first)
            n = 1; /* the common case: only the last byte is needed */
        pos -= (off_t)n;
        if (pread_all(fd, buf, n, pos) < 0) {
            int e = errno;
            tw_set_err(err, errlen, "read %s: %s", path, strerror(e));
            errno = e;
            return -1;
        }
        if (first && buf[0] == '\n')
            return 0;
        first = 0;
        size_t i = n;
        while (i > 0 && buf[i - 1] != '\n')
            i--;
        if (i > 0) {
            keep = pos + (off_t)i;
            break;
        }
    }

    /* Copy [keep, size) into the first free PATH.partial-N. */
    char side[TW_JOURNAL_PATH_MAX];
    int sfd = -1;
    for (int k = 1; k <= SIDECAR_MAX && sfd < 0; k++) {
        int n = snprintf(side, sizeof side, "%s.partial-%d", path, k);
        if (n < 0 || (size_t)n >= sizeof side) {
            tw_set_err(err, errlen, "%s: path too long for a sidecar", path);
            errno = ENAMETOOLONG;
            return -1;
        }
        sfd = open(side, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
        if (sfd < 0 && errno != EEXIST) {
            int e = errno;
            tw_set_err(err, errlen, "create %s: %s", side, strerror(e));
            errno = e;
            return -1;
        }
    }
    if (sfd < 0) {
        tw_set_err(err, errlen, "%s: %d sidecar files exist already", path, SIDECAR_MAX);
        errno = EEXIST;
        return -1;
    }
    const char *op = "write";
    int e = 0;
    for (off_t at = keep; at < size && !e;) {
        size_t n = size - at < (off_t)sizeof buf ? (size_t)(size - at) : sizeof buf, done;
        if (pread_all(fd, buf, n, at) < 0) {
            e = errno;
            op = "read";
            break;
        }
        e = write_all(sfd, buf, n, &done);
        at += (off_t)n;
    }
    if (!e && fsync_fd(sfd) < 0) {
        e = errno;
        op = "fsync";
    }
    if (close(sfd) < 0 && !e) {
        e = errno;
        op = "close";
    }
    if (!e && fsync_dir_of(side, 0) < 0) {
        e = errno;
        op = "fsync the directory of";
    }
    if (e) {
        tw_set_err(err, errlen, "%s %s: %s (partial line of %s left in place)", op,
               strcmp(op, "read") == 0 ? path : side, strerror(e), path);
        unlink(side);
        errno = e;
        return -1;
    }
    /* The sidecar is durable: now cut the file. */
    if (ftruncate(fd, keep) < 0) {
        e = errno;
        tw_set_err(err, errlen, "truncate %s: %s (partial line left in place)", path,
               strerror(e));
        unlink(side);
        errno = e;
        return -1;
    }
    /* If this fsync fails and the truncation is lost in a crash, the next
     * open sets the same bytes aside again: duplicated, never lost. */
    (void)fsync_fd(fd);
    snprintf(rec->path, sizeof rec->path, "%s", side);
    snprintf(rec->file, sizeof rec->file, "%s", path);
    rec->bytes = (long)(size - keep);
    return 0;
}

int tw_journal_recover_file(const char *path, tw_journal_recovered *rec, char *err,
                            size_t errlen)
{
    tw_journal_recovered dummy;
    if (!rec)
        rec = &dummy;
    memset(rec, 0, sizeof *rec);
    if (!path || !*path) {
        tw_set_err(err, errlen, "journal file: no path given");
        errno = EINVAL;
        return -1;
    }
    if (strlen(path) + SIDECAR_SUFFIX_MAX >= TW_JOURNAL_PATH_MAX) {
        tw_set_err(err, errlen, "%.60s...: path too long (max %d bytes)", path,
               TW_JOURNAL_PATH_MAX - SIDECAR_SUFFIX_MAX - 1);
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        tw_set_err(err, errlen, "open %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    int r = recover_fd(fd, path, rec, err, errlen), e = errno;
    close(fd);
    errno = e;
    return r;
}

/* ---- day files ----------------------------------------------------------- */

static void count_recovered(tw_journal *j, const tw_journal_recovered *r)
{
    if (r->bytes > 0) {
        j->st.partials++;
        j->st.partial_bytes += (uint64_t)r->bytes;
    }
}

static void do_fsync(tw_journal *j, int64_t now_s)
{
    if (fsync_fd(j->fd) == 0) {
        j->st.syncs++;
    } else {
        j->st.syncs_failed++;
        record_op_fail(j, errno, now_s, "fsync", j->path);
    }
    j->dirty = 0; /* a failure is reported once, as the kernel does */
}

static int check_file(tw_journal *j, int64_t now_s);
static int count_lines(int fd, off_t at, uint64_t *n);

/* Lines of the deleted open file not copied out yet: counted lost (the
 * file is about to be closed). */
static void count_orphan_lost(tw_journal *j)
{
    if (!j->orphan)
        return;
    uint64_t n = 0;
    if (count_lines(j->fd, j->kept, &n) < 0)
        n = 0;
    j->st.lines_lost += n;
    j->orphan = 0;
}

/* fsync (if dirty) and close the day file (after a last check that it is
 * in place: lines written to a deleted file are copied out first, or
 * counted lost). 0, or -1 (recorded). */
static int close_file(tw_journal *j, int64_t now_s)
{
    if (j->fd < 0)
        return 0;
    check_file(j, now_s);
    if (j->fd < 0)
        return 0;
    count_orphan_lost(j);
    int rc = 0;
    if (j->dirty) {
        uint64_t before = j->st.syncs_failed;
        do_fsync(j, now_s);
        rc = j->st.syncs_failed != before ? -1 : 0;
    }
    if (close(j->fd) < 0 && errno != EINTR) {
        record_op_fail(j, errno, now_s, "close", j->path);
        rc = -1;
    }
    j->fd = -1;
    j->clean = 0;
    j->dirty = 0;
    return rc;
}

/* Open (create) the file of day `day`. 0, or -1 (recorded). */
static int open_day(tw_journal *j, int64_t day, int64_t now_s)
{
    if (day_path(j->dir, day, j->path, sizeof j->path) < 0) {
        char m[sizeof j->st.msg];
        snprintf(m, sizeof m, "journal directory '%s': no file name for day %lld", j->dir,
                 (long long)day);
        record_fail(j, EINVAL, now_s, m);
        return -1;
    }
    int fd = -1, created = 0;
    for (int tries = 0; tries < 3 && fd < 0; tries++) {
        fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
        if (fd >= 0) {
            created = 1;
            break;
        }
        if (errno != EEXIST)
            break;
        fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT) /* ENOENT: removed meanwhile, create it */
            break;
    }
    if (fd < 0) {
        record_op_fail(j, errno, now_s, "open", j->path);
        return -1;
    }
    j->fd = fd;
    j->day = day;
    j->clean = created;
    j->dirty = 0;
    j->kept = 0;
    j->orphan = 0;
    if (created && fsync_dir_of(j->dir, 1) < 0) {
        /* The file is usable; only its directory entry may not be durable. */
        j->st.syncs_failed++;
        record_op_fail(j, errno, now_s, "fsync directory", j->dir);
    }
    return 0;
}

/* Make sure the open file ends at a line end. 0, or -1 (recorded, closed). */
static int make_clean(tw_journal *j, int64_t now_s)
{
    if (j->clean)
        return 0;
    tw_journal_recovered r;
    char m[sizeof j->st.msg];
    if (recover_fd(j->fd, j->path, &r, m, sizeof m) < 0) {
        record_fail(j, errno, now_s, m);
        close_file(j, now_s);
        return -1;
    }
    count_recovered(j, &r);
    j->clean = 1;
    return 0;
}

/* ---- the API ------------------------------------------------------------- */

static int mkdir_p(const char *dir);

int tw_make_dir(const char *what, const char *dir, char *err, size_t errlen)
{
    struct stat sb;
    if (!dir || !*dir) {
        tw_set_err(err, errlen, "%s: no path given", what);
        return -1;
    }
    if (strlen(dir) > TW_JOURNAL_DIR_MAX) {
        tw_set_err(err, errlen, "%s '%.60s...': too long (max %d bytes)", what, dir,
                   TW_JOURNAL_DIR_MAX);
        return -1;
    }
    if (mkdir_p(dir) < 0) {
        tw_set_err(err, errlen, "%s '%s': cannot create: %s", what, dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &sb) < 0) {
        tw_set_err(err, errlen, "%s '%s': %s", what, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        tw_set_err(err, errlen, "%s '%s': not a directory", what, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        tw_set_err(err, errlen, "%s '%s': not writable: %s", what, dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* mkdir -p dir with mode DIR_MODE. -1, errno. */
static int mkdir_p(const char *dir)
{
    char p[TW_JOURNAL_DIR_MAX + 1];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, DIR_MODE) < 0 && errno != EEXIST) {
            *s = '/';
            return -1;
        }
        *s = '/';
    }
    if (mkdir(p, DIR_MODE) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* ---- a day file deleted or moved while open --------------------------------- */

/* The lines ('\n') of fd from byte at to its end into *n. 0, or -1 (errno). */
static int count_lines(int fd, off_t at, uint64_t *n)
{
    struct stat sb;
    *n = 0;
    if (fstat(fd, &sb) < 0)
        return -1;
    char buf[8192];
    while (at < sb.st_size) {
        size_t k = sb.st_size - at < (off_t)sizeof buf ? (size_t)(sb.st_size - at) : sizeof buf;
        if (pread_all(fd, buf, k, at) < 0)
            return -1;
        for (size_t i = 0; i < k; i++)
            *n += buf[i] == '\n';
        at += (off_t)k;
    }
    return 0;
}

/* Copy bytes [at, its end) of fd `from` to the end of fd `to` (opened
 * O_APPEND); *lines gets the lines copied. 0, or the errno of the failure
 * (`to` cut back to its size before). */
static int copy_tail(int from, off_t at, int to, uint64_t *lines)
{
    struct stat fb, tb;
    *lines = 0;
    if (fstat(from, &fb) < 0 || fstat(to, &tb) < 0)
        return errno;
    char buf[8192];
    int e = 0;
    while (at < fb.st_size && !e) {
        size_t k = fb.st_size - at < (off_t)sizeof buf ? (size_t)(fb.st_size - at) : sizeof buf;
        size_t done = 0;
        if (pread_all(from, buf, k, at) < 0)
            e = errno;
        else
            e = write_all(to, buf, k, &done);
        for (size_t i = 0; !e && i < k; i++)
            *lines += buf[i] == '\n';
        at += (off_t)k;
    }
    if (e) {
        (void)ftruncate(to, tb.st_size);
        *lines = 0;
    }
    return e;
}

/* The open day file was deleted (link count 0: a clean-up script, an
 * `rm -rf` of the directory): create the directory and the file again
 * and copy into it what was written since the file was last seen in
 * place (still readable through the open descriptor); the next lines go
 * to the new file. Counted in st.recreated and st.lines_rescued. When
 * that fails the lines go on to the deleted file, where nothing is lost
 * while the process runs: the error is in the status (orphan) and the
 * next check tries again; what is still there when the file is closed is
 * counted in st.lines_lost. 0, or -1 (recorded). */
static int rescue_deleted(tw_journal *j, int64_t now_s)
{
    int nfd = -1, e = 0;
    const char *op = "cannot create its directory";
    if (mkdir_p(j->dir) < 0) {
        e = errno;
    } else {
        op = "cannot create it again";
        nfd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
        if (nfd < 0 && errno == EEXIST) { /* made meanwhile: appended to, once clean */
            tw_journal_recovered r;
            char m[sizeof j->st.msg];
            nfd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
            if (nfd >= 0 && recover_fd(nfd, j->path, &r, m, sizeof m) < 0) {
                e = errno;
                close(nfd);
                nfd = -1;
            } else if (nfd >= 0) {
                count_recovered(j, &r);
            }
        }
        if (nfd < 0 && !e)
            e = errno;
    }
    uint64_t lines = 0;
    if (nfd >= 0) {
        op = "cannot copy its lines to the new file";
        e = copy_tail(j->fd, j->kept, nfd, &lines);
    }
    if (e) {
        if (nfd >= 0)
            close(nfd);
        uint64_t held = 0;
        (void)count_lines(j->fd, j->kept, &held);
        char m[sizeof j->st.msg];
        snprintf(m, sizeof m, "%.*s was deleted; %s: %.60s (%llu lines held in the deleted "
                 "file until then)", TW_JOURNAL_DIR_MAX + 32, j->path, op, strerror(e),
                 (unsigned long long)held);
        record_fail(j, e, now_s, m);
        j->orphan = 1;
        return -1;
    }
    close(j->fd); /* the deleted file: gone with its last descriptor */
    j->fd = nfd;
    j->clean = 1;
    j->dirty = 1;
    struct stat sb;
    j->kept = fstat(nfd, &sb) == 0 ? sb.st_size : 0;
    if (fsync_dir_of(j->dir, 1) < 0) {
        j->st.syncs_failed++;
        record_op_fail(j, errno, now_s, "fsync directory", j->dir);
    } else if (j->orphan || j->st.error) {
        j->st.error = 0;
        j->st.msg[0] = '\0';
        j->st.fail_since_s = 0;
    }
    j->orphan = 0;
    j->st.recreated++;
    j->st.lines_rescued += lines;
    return 0;
}

/* Is the open day file still at its path? In place: kept = its size.
 * Deleted: rescue_deleted. Moved away but still linked (renamed, as
 * logrotate does before its SIGHUP): its lines are safe where it went;
 * it is closed, and the next line creates the file at its path again
 * (st.moved). 0, or -1 (recorded). */
static int check_file(tw_journal *j, int64_t now_s)
{
    if (j->fd < 0)
        return 0;
    struct stat fb, pb;
    if (fstat(j->fd, &fb) < 0) {
        record_op_fail(j, errno, now_s, "stat", j->path);
        return -1;
    }
    if (stat(j->path, &pb) == 0 && pb.st_dev == fb.st_dev && pb.st_ino == fb.st_ino) {
        j->kept = fb.st_size;
        return 0;
    }
    if (fb.st_nlink == 0)
        return rescue_deleted(j, now_s);
    j->st.moved++;
    if (j->dirty)
        do_fsync(j, now_s);
    close(j->fd);
    j->fd = -1;
    j->clean = 0;
    j->dirty = 0;
    return 0;
}

tw_journal *tw_journal_open(const char *dir, double fsync_s, tw_journal_recovered *rec,
                            char *err, size_t errlen)
{
    if (rec)
        memset(rec, 0, sizeof *rec);
    if (!dir || !*dir) {
        tw_set_err(err, errlen, "journal directory: no path given");
        return NULL;
    }
    if (strlen(dir) > TW_JOURNAL_DIR_MAX) {
        tw_set_err(err, errlen, "journal directory '%.60s...': too long (max %d bytes)", dir,
               TW_JOURNAL_DIR_MAX);
        return NULL;
    }
    if (!isfinite(fsync_s) || fsync_s < 0.0 || fsync_s > FSYNC_S_MAX) {
        tw_set_err(err, errlen, "journal fsync interval %g s: out of range (allowed 0 .. %g s)",
               fsync_s, FSYNC_S_MAX);
        return NULL;
    }
    if (tw_make_dir("journal directory", dir, err, errlen) != 0)
        return NULL;
    DIR *d = opendir(dir);
    if (!d) {
        tw_set_err(err, errlen, "journal directory '%s': cannot list: %s", dir,
               strerror(errno));
        return NULL;
    }
    tw_journal *j = calloc(1, sizeof *j);
    if (!j) {
        closedir(d);
        tw_set_err(err, errlen, "journal directory '%s': out of memory", dir);
        return NULL;
    }
    snprintf(j->dir, sizeof j->dir, "%s", dir);
    /* "a/b/" -> "a/b" so that file names read well ("/" stays "/"). */
    for (size_t n = strlen(j->dir); n > 1 && j->dir[n - 1] == '/'; n--)
        j->dir[n - 1] = '\0';
    j->fsync_s = fsync_s;
    j->fd = -1;
    j->day = INT64_MIN;

    /* The latest day file (names sort by date). */
    char latest[NAME_LEN + 1] = "";
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (is_day_name(de->d_name) && strcmp(de->d_name, latest) > 0)
            memcpy(latest, de->d_name, sizeof latest); /* NAME_LEN chars + NUL */
    closedir(d);
    if (latest[0]) {
        char p[TW_JOURNAL_PATH_MAX], m[sizeof j->st.msg];
        tw_journal_recovered r;
        snprintf(p, sizeof p, "%s/%s", j->dir, latest);
        if (tw_journal_recover_file(p, &r, m, sizeof m) < 0)
            record_fail(j, errno, realtime_s(), m);
        count_recovered(j, &r);
        if (rec)
            *rec = r;
    }
    return j;
}

int tw_journal_append(tw_journal *j, const char *line, size_t len,
                      const struct timespec *now_real)
{
    if (!j || !line || len == 0 || memchr(line, '\n', len))
        return TW_JOURNAL_EINVAL;
    struct timespec ts;
    if (now_real)
        ts = *now_real;
    else
        clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_s = (int64_t)ts.tv_sec, day = day_of(ts.tv_sec);

    if (j->fd >= 0 && day != j->day)
        close_file(j, now_s);
    if (j->fd < 0 && open_day(j, day, now_s) < 0)
        goto failed;
    if (make_clean(j, now_s) < 0)
        goto failed;

    size_t done = 0;
    int e = write_line(j->fd, line, len, &done);
    if (e) {
        /* Cut what got in back to the previous line end, then close (the
         * next append reopens and checks the tail again). */
        int te = 0;
        struct stat sb;
        if (done > 0) {
            if (fstat(j->fd, &sb) < 0)
                te = errno;
            else if (S_ISREG(sb.st_mode) && sb.st_size >= (off_t)done &&
                     ftruncate(j->fd, sb.st_size - (off_t)done) < 0)
                te = errno;
        }
        close_file(j, now_s);
        char m[sizeof j->st.msg];
        if (te)
            snprintf(m, sizeof m, "write %s: %s (%zu of %zu bytes written, not cut back: %s)",
                     j->path, strerror(e), done, len + 1, strerror(te));
        else
            snprintf(m, sizeof m, "write %s: %s", j->path, strerror(e));
        record_fail(j, e, now_s, m);
        goto failed;
    }
    j->st.lines_written++;
    j->dirty = 1;
    if (!j->orphan) { /* a deleted file is an error until it is recreated */
        j->st.error = 0;
        j->st.msg[0] = '\0';
        j->st.fail_since_s = 0;
    }
    if (j->fsync_s == 0.0)
        do_fsync(j, now_s);
    return TW_JOURNAL_OK;

failed:
    j->st.lines_failed++;
    return TW_JOURNAL_EIO;
}

static double seconds_since(const struct timespec *a, const struct timespec *b)
{
    return tw_ts_s(b) - tw_ts_s(a);
}

int tw_journal_sync(tw_journal *j, const struct timespec *now_mono)
{
    if (!j)
        return TW_JOURNAL_EINVAL;
    if (j->fd < 0)
        return TW_JOURNAL_OK;
    struct timespec ts;
    if (now_mono)
        ts = *now_mono;
    else
        clock_gettime(CLOCK_MONOTONIC, &ts);
    double check_s = j->fsync_s < CHECK_S_MAX ? j->fsync_s : CHECK_S_MAX;
    if (!j->have_last_check || seconds_since(&j->last_check, &ts) >= check_s) {
        j->last_check = ts;
        j->have_last_check = 1;
        if (check_file(j, realtime_s()) < 0 && j->fd < 0)
            return TW_JOURNAL_EIO;
    }
    if (j->fd < 0 || !j->dirty)
        return TW_JOURNAL_OK;
    if (j->have_last_sync && seconds_since(&j->last_sync, &ts) < j->fsync_s)
        return TW_JOURNAL_OK;
    j->last_sync = ts;
    j->have_last_sync = 1;
    uint64_t before = j->st.syncs_failed;
    do_fsync(j, realtime_s());
    return j->st.syncs_failed == before ? TW_JOURNAL_OK : TW_JOURNAL_EIO;
}

int tw_journal_reopen(tw_journal *j)
{
    if (!j)
        return TW_JOURNAL_EINVAL;
    return close_file(j, realtime_s()) == 0 ? TW_JOURNAL_OK : TW_JOURNAL_EIO;
}

void tw_journal_get_status(const tw_journal *j, tw_journal_status *st)
{
    if (j)
        *st = j->st;
    else
        memset(st, 0, sizeof *st);
}

const char *tw_journal_current_path(const tw_journal *j)
{
    return j ? j->path : "";
}

void tw_journal_close(tw_journal *j)
{
    if (!j)
        return;
    close_file(j, realtime_s());
    free(j);
}

