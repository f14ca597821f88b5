/* edfrepair.c: see edfrepair.h (why the header is parsed here and not by
 * EDFlib is explained there). */
#include "edfrepair.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define TAL_MAX 128             /* bytes of one annotation TAL, at most */
#define PATHLEN 4096

typedef struct {
    int bdf;
    int discontinuous;
    int ns;                 /* signals, annotation signals included */
    long hdrsize;           /* bytes */
    int64_t count;          /* the header's record count (-1: unknown) */
    long long dur;          /* record duration, 100 ns units */
    long recsize;           /* bytes */
    int nannot;             /* annotation signals */
    long *aoff, *alen;      /* their offsets and lengths in a record (bytes) */
} edf_header;

typedef struct {
    long long onset, dur;   /* 100 us units; dur -1: none */
    char text[TW_EDF_TEXT_MAX + 1];
} annot;

/* ---- header --------------------------------------------------------------- */

/* An ASCII field of len bytes as a NUL-terminated string without
 * trailing spaces. -1 if it holds a byte outside printable ASCII. */
static int field(const unsigned char *h, size_t off, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        if (h[off + i] < 0x20 || h[off + i] > 0x7e)
            return -1;
        out[i] = (char)h[off + i];
    }
    out[len] = '\0';
    while (len > 0 && out[len - 1] == ' ')
        out[--len] = '\0';
    return 0;
}

/* A whole field as an integer (leading spaces allowed). */
static int int_field(const unsigned char *h, size_t off, size_t len, long long *v)
{
    char s[32], *end;
    if (len >= sizeof s || field(h, off, len, s) < 0)
        return -1;
    const char *p = s;
    while (*p == ' ')
        p++;
    if (!*p)
        return -1;
    errno = 0;
    *v = strtoll(p, &end, 10);
    return (*end || errno) ? -1 : 0;
}

/* A time in seconds ("+12.5", "1", "0.25") as 100 ns units; -1 if it is
 * not one (EDFlib's rules: an optional sign, digits, at most one '.'
 * with digits on both sides). sign_required for TAL onsets. */
static int parse_time(const char *s, size_t len, int sign_required, long long *v)
{
    size_t i = 0;
    int neg = 0;
    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    } else if (sign_required) {
        return -1;
    }
    long long whole = 0, frac = 0, scale = TW_EDF_TIME_UNITS;
    int digits = 0, dot = 0, fdigits = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (dot || !digits)
                return -1;
            dot = 1;
        } else if (c >= '0' && c <= '9') {
            if (!dot) {
                if (whole > (LLONG_MAX / TW_EDF_TIME_UNITS) / 10)
                    return -1;
                whole = whole * 10 + (c - '0');
                digits++;
            } else {
                if (scale > 1) {
                    scale /= 10;
                    frac += (c - '0') * scale;
                }
                fdigits++;
            }
        } else {
            return -1;
        }
    }
    if (!digits || (dot && !fdigits))
        return -1;
    *v = (whole * TW_EDF_TIME_UNITS + frac) * (neg ? -1 : 1);
    return 0;
}

static void free_header(edf_header *e)
{
    free(e->aoff);
    free(e->alen);
}

/* Parse and check the header. EFORMAT with a reason if it is not an
 * EDF+/BDF+ header; EIO if it cannot be read. */
static int read_header(int fd, const char *path, off_t size, edf_header *e, char *err,
                       size_t errlen)
{
    unsigned char fixed[TW_EDF_HDR_FIXED];
    char s[81];
    memset(e, 0, sizeof *e);
    if (size < TW_EDF_HDR_FIXED) {
        tw_set_err(err, errlen, "%s: not an EDF file: %s", path,
                   size == 0 ? "empty (a recording that stopped before its first record?)"
                             : "shorter than the 256-byte header");
        return TW_EDF_REPAIR_EFORMAT;
    }
    if (pread(fd, fixed, sizeof fixed, 0) != (ssize_t)sizeof fixed) {
        tw_set_err(err, errlen, "%s: read: %s", path, strerror(errno ? errno : EIO));
        return TW_EDF_REPAIR_EIO;
    }
    if (fixed[0] == 0xff && memcmp(fixed + 1, "BIOSEMI", 7) == 0)
        e->bdf = 1;
    else if (memcmp(fixed, "0       ", 8) != 0) {
        tw_set_err(err, errlen, "%s: not an EDF or BDF file (version field)", path);
        return TW_EDF_REPAIR_EFORMAT;
    }
    if (field(fixed, TW_EDF_HDR_RESERVED_OFF, 44, s) < 0 ||
        (strncmp(s, e->bdf ? "BDF+C" : "EDF+C", 5) != 0 &&
         strncmp(s, e->bdf ? "BDF+D" : "EDF+D", 5) != 0)) {
        tw_set_err(err, errlen, "%s: not an %s file (no \"%s\" in the reserved field)", path,
                   e->bdf ? "BDF+" : "EDF+", e->bdf ? "BDF+C" : "EDF+C");
        return TW_EDF_REPAIR_EFORMAT;
    }
    e->discontinuous = s[4] == 'D';
    long long hb, ns, count;
    if (int_field(fixed, TW_EDF_HDR_SIZE_OFF, 8, &hb) < 0 ||
        int_field(fixed, TW_EDF_HDR_NS_OFF, 4, &ns) < 0 || ns < 1 ||
        ns > TW_EDF_NS_MAX || hb != TW_EDF_HDR_FIXED + ns * TW_EDF_HDR_PER_SIGNAL) {
        tw_set_err(err, errlen, "%s: not an EDF file (header size and signal count disagree)", path);
        return TW_EDF_REPAIR_EFORMAT;
    }
    e->ns = (int)ns;
    e->hdrsize = (long)hb;
    e->count = int_field(fixed, TW_EDF_HDR_COUNT_OFF, 8, &count) < 0 ? -1 : count;
    if (field(fixed, TW_EDF_HDR_DUR_OFF, 8, s) < 0 || parse_time(s, strlen(s), 0, &e->dur) < 0 ||
        e->dur <= 0) {
        tw_set_err(err, errlen, "%s: not an EDF file (record duration '%s')", path, s);
        return TW_EDF_REPAIR_EFORMAT;
    }
    if (size < e->hdrsize) {
        tw_set_err(err, errlen, "%s: not an EDF file: shorter than its %ld-byte header", path,
                   e->hdrsize);
        return TW_EDF_REPAIR_EFORMAT;
    }
    unsigned char *h = malloc((size_t)e->hdrsize);
    e->aoff = calloc((size_t)e->ns, sizeof *e->aoff);
    e->alen = calloc((size_t)e->ns, sizeof *e->alen);
    if (!h || !e->aoff || !e->alen) {
        free(h);
        tw_set_err(err, errlen, "%s: out of memory", path);
        return TW_EDF_REPAIR_EIO;
    }
    if (pread(fd, h, (size_t)e->hdrsize, 0) != (ssize_t)e->hdrsize) {
        free(h);
        tw_set_err(err, errlen, "%s: read: %s", path, strerror(errno ? errno : EIO));
        return TW_EDF_REPAIR_EIO;
    }
    int bps = e->bdf ? 3 : 2;
    const char *annot_label = e->bdf ? "BDF Annotations" : "EDF Annotations";
    long off = 0;
    for (int i = 0; i < e->ns; i++) {
        long long nsamp;
        if (field(h, TW_EDF_HDR_FIXED + (size_t)i * TW_EDF_HDR_LABEL_LEN, TW_EDF_HDR_LABEL_LEN, s) < 0 ||
            int_field(h, TW_EDF_HDR_FIXED + (size_t)e->ns * TW_EDF_HDR_NSAMP_OFF + (size_t)i * TW_EDF_HDR_NSAMP_LEN,
                      TW_EDF_HDR_NSAMP_LEN, &nsamp) < 0 ||
            nsamp < 1 || nsamp > 100000000) {
            free(h);
            tw_set_err(err, errlen, "%s: not an EDF file (signal %d's header)", path, i);
            return TW_EDF_REPAIR_EFORMAT;
        }
        if (strcmp(s, annot_label) == 0) {
            e->aoff[e->nannot] = off;
            e->alen[e->nannot] = (long)nsamp * bps;
            e->nannot++;
        }
        off += (long)nsamp * bps;
    }
    free(h);
    e->recsize = off;
    if (e->nannot == 0) {
        tw_set_err(err, errlen, "%s: not an EDF+ file (no \"%s\" signal)", path, annot_label);
        return TW_EDF_REPAIR_EFORMAT;
    }
    return 0;
}

/* ---- records -------------------------------------------------------------- */

/* The time-keeping TAL at the start of an annotation signal: its length
 * up to and including "\x14\x14" (0 if there is none) and its onset. */
static size_t timekeeping_tal(const char *a, size_t len, long long *t)
{
    for (size_t k = 0; k + 2 < len; k++) { /* room for "\x14\x14" and a '\0' */
        if (a[k] == 0x14) {
            if (a[k + 1] != 0x14 || parse_time(a, k, 1, t) < 0)
                return 0;
            return k + 2;
        }
    }
    return 0;
}

/* The number of leading whole records (at most max, -1: no limit) with a
 * valid time-keeping TAL, each one record duration after the previous
 * (EDF+C). *t0: the first one's onset (100 ns). -1 on a read error. */
static int64_t count_valid(int fd, const edf_header *e, off_t size, int64_t max, long long *t0)
{
    int64_t full = (size - e->hdrsize) / e->recsize;
    if (max >= 0 && full > max)
        full = max;
    char *a = malloc((size_t)e->alen[0]);
    if (!a)
        return -1;
    int64_t i;
    long long prev = 0;
    for (i = 0; i < full; i++) {
        off_t off = (off_t)e->hdrsize + (off_t)i * e->recsize + e->aoff[0];
        ssize_t r = pread(fd, a, (size_t)e->alen[0], off);
        if (r != (ssize_t)e->alen[0]) {
            free(a);
            return -1;
        }
        long long t;
        if (timekeeping_tal(a, (size_t)e->alen[0], &t) == 0)
            break;
        if (i == 0)
            *t0 = t;
        else if (e->discontinuous ? t < prev + e->dur : t != prev + e->dur)
            break;
        prev = t;
    }
    free(a);
    return i;
}

/* ---- the sidecar ---------------------------------------------------------- */

/* Read every whole annotation line. *bad: lines skipped. -1 (with err)
 * when it cannot be read. */
static int read_sidecar(int sfd, const char *spath, annot **out, size_t *n, size_t *bad,
                        char *err, size_t errlen)
{
    FILE *f = fdopen(dup(sfd), "r");
    if (!f) {
        tw_set_err(err, errlen, "%s: %s", spath, strerror(errno));
        return -1;
    }
    char line[1024];
    size_t cap = 0;
    *out = NULL;
    *n = *bad = 0;
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        if (l == 0 || line[l - 1] != '\n') {
            if (!feof(f)) { /* an overlong line: skip the rest of it */
                (*bad)++;
                int c;
                while ((c = fgetc(f)) != EOF && c != '\n')
                    ;
            }
            continue; /* the last line cut by a crash */
        }
        line[--l] = '\0';
        if (line[0] == '#')
            continue;
        long long on, du;
        int pos = 0;
        if (sscanf(line, "%lld %lld %n", &on, &du, &pos) != 2 || pos == 0 || on < 0 ||
            du < -1 || on > TW_EDF_ANNOT_UNITS_MAX || du > TW_EDF_ANNOT_UNITS_MAX) {
            (*bad)++;
            continue;
        }
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            annot *na = realloc(*out, nc * sizeof *na);
            if (!na) {
                fclose(f);
                tw_set_err(err, errlen, "%s: out of memory", spath);
                return -1;
            }
            *out = na;
            cap = nc;
        }
        annot *a = &(*out)[(*n)++];
        a->onset = on;
        a->dur = du;
        tw_edf_clean_text(a->text, line + pos);
    }
    int e = ferror(f);
    fclose(f);
    if (e) {
        tw_set_err(err, errlen, "%s: read error", spath);
        return -1;
    }
    return 0;
}

/* A time in 100 us units as EDFlib writes it: seconds, and 4 decimals when
 * not whole. */
static int fmt_time(char *s, size_t cap, long long v, const char *sign)
{
    if (v % TW_EDF_ANNOT_PER_S)
        return snprintf(s, cap, "%s%lld.%04lld", sign, v / TW_EDF_ANNOT_PER_S, v % TW_EDF_ANNOT_PER_S);
    return snprintf(s, cap, "%s%lld", sign, v / TW_EDF_ANNOT_PER_S);
}

/* One annotation as a TAL (its '\0' included). t0: the file's start
 * offset (100 ns). Returns its length. */
static size_t make_tal(char *s, const annot *a, long long t0)
{
    size_t p = (size_t)fmt_time(s, TAL_MAX, a->onset + t0 / 1000, "+");
    if (a->dur >= 0) {
        s[p++] = 0x15;
        p += (size_t)fmt_time(s + p, TAL_MAX - p, a->dur, "");
    }
    s[p++] = 0x14;
    size_t tl = strlen(a->text);
    memcpy(s + p, a->text, tl);
    p += tl;
    s[p++] = 0x14;
    s[p++] = '\0';
    return p;
}

/* Rewrite every annotation signal of records [0, nrec): time-keeping TAL
 * kept, then annotations packed in order. *placed: how many fitted. */
static int write_annotations(int fd, const edf_header *e, int64_t nrec, long long t0,
                             const annot *an, size_t n, size_t *placed)
{
    long maxlen = 0;
    for (int j = 0; j < e->nannot; j++)
        if (e->alen[j] > maxlen)
            maxlen = e->alen[j];
    char *buf = malloc((size_t)maxlen);
    if (!buf)
        return -1;
    size_t k = 0;
    char tal[TAL_MAX];
    for (int64_t i = 0; i < nrec; i++) {
        off_t rec = (off_t)e->hdrsize + (off_t)i * e->recsize;
        for (int j = 0; j < e->nannot; j++) {
            size_t len = (size_t)e->alen[j], p = 0;
            if (j == 0) {
                long long t;
                if (pread(fd, buf, len, rec + e->aoff[0]) != (ssize_t)len)
                    goto io;
                p = timekeeping_tal(buf, len, &t);
                buf[p++] = '\0';
            }
            memset(buf + p, 0, len - p);
            size_t base = p;
            while (k < n) {
                size_t tl = make_tal(tal, &an[k], t0);
                if (p + tl + 1 > len) { /* one '\0' must end the signal */
                    if (p == base) {
                        k++; /* too long even for an empty signal: skipped */
                        continue;
                    }
                    break;
                }
                memcpy(buf + p, tal, tl);
                p += tl;
                k++;
                (*placed)++;
            }
            if (pwrite(fd, buf, len, rec + e->aoff[j]) != (ssize_t)len)
                goto io;
        }
    }
    free(buf);
    return 0;
io:
    free(buf);
    return -1;
}

/* ---- repair --------------------------------------------------------------- */

static int open_sidecar(const char *spath, int *sfd, char *err, size_t errlen)
{
    *sfd = open(spath, O_RDONLY | O_CLOEXEC);
    if (*sfd < 0) {
        if (errno == ENOENT)
            return 0;
        tw_set_err(err, errlen, "open %s: %s", spath, strerror(errno));
        return TW_EDF_REPAIR_EOPEN;
    }
    if (flock(*sfd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(*sfd);
        *sfd = -1;
        tw_set_err(err, errlen, "%s: %s", spath,
                   e == EWOULDBLOCK ? "locked: a recorder is writing this recording" : strerror(e));
        return e == EWOULDBLOCK ? TW_EDF_REPAIR_EBUSY : TW_EDF_REPAIR_EIO;
    }
    return 0;
}

typedef struct {
    const char *path;
    char spath[PATHLEN + 8];
    int fd, sfd;
    edf_header e;
    off_t size;
    annot *an;
    size_t nan, bad;
    size_t unplaced;        /* annotations that found no room */
} job;

static int do_repair(job *j, int64_t max_records, int force, char *report, size_t replen,
                     char *err, size_t errlen)
{
    edf_header *e = &j->e;
    int rc = read_header(j->fd, j->path, j->size, e, err, errlen);
    if (rc < 0)
        return rc;
    long long t0 = 0;
    int64_t valid = count_valid(j->fd, e, j->size, max_records, &t0);
    if (valid < 0) {
        tw_set_err(err, errlen, "%s: read: %s", j->path, strerror(errno ? errno : EIO));
        return TW_EDF_REPAIR_EIO;
    }
    if (valid == 0) {
        tw_set_err(err, errlen, "%s: no whole data record (%lld bytes after the header): "
                   "nothing to recover", j->path, (long long)(j->size - e->hdrsize));
        return TW_EDF_REPAIR_EFORMAT;
    }
    off_t want = (off_t)e->hdrsize + (off_t)valid * e->recsize;
    double secs = (double)valid * (double)e->dur / TW_EDF_TIME_UNITS;
    if (j->sfd < 0 && !force && e->count == valid && j->size == want) {
        tw_set_err(report, replen, "%s: complete, nothing to repair (%" PRId64 " records, %g s)",
                   j->path, valid, secs);
        return TW_EDF_REPAIR_NOTHING;
    }
    if (j->sfd >= 0 && read_sidecar(j->sfd, j->spath, &j->an, &j->nan, &j->bad, err, errlen) < 0)
        return TW_EDF_REPAIR_EIO;
    if (j->size > want && ftruncate(j->fd, want) < 0) {
        tw_set_err(err, errlen, "%s: truncate: %s", j->path, strerror(errno));
        return TW_EDF_REPAIR_EIO;
    }
    size_t placed = 0;
    if (j->sfd >= 0 && write_annotations(j->fd, e, valid, t0, j->an, j->nan, &placed) < 0) {
        tw_set_err(err, errlen, "%s: writing annotations: %s", j->path, strerror(errno ? errno : EIO));
        return TW_EDF_REPAIR_EIO;
    }
    char f[24];
    snprintf(f, sizeof f, "%-8" PRId64, valid);
    if (pwrite(j->fd, f, 8, 236) != 8 || fsync(j->fd) < 0) {
        tw_set_err(err, errlen, "%s: write: %s", j->path, strerror(errno ? errno : EIO));
        return TW_EDF_REPAIR_EIO;
    }
    if (j->sfd >= 0 && unlink(j->spath) < 0 && errno != ENOENT) {
        tw_set_err(err, errlen, "%s: remove: %s", j->spath, strerror(errno));
        return TW_EDF_REPAIR_EIO;
    }
    char ann[PATHLEN + 200] = "no annotation sidecar";
    if (j->sfd >= 0)
        snprintf(ann, sizeof ann, "%zu annotations written from %s%s", placed, j->spath,
                 j->bad ? " (unreadable lines skipped)" : "");
    j->unplaced = j->nan - placed;
    if (j->sfd >= 0 && placed < j->nan) {
        size_t l = strlen(ann);
        snprintf(ann + l, sizeof ann - l, ", %zu did not fit", j->nan - placed);
    }
    char cut[96] = "";
    if (j->size > want)
        snprintf(cut, sizeof cut, ", %lld bytes cut after the last whole record",
                 (long long)(j->size - want));
    char cnt[64];
    if (e->count == valid)
        snprintf(cnt, sizeof cnt, "record count right");
    else
        snprintf(cnt, sizeof cnt, "record count set (was %" PRId64 ")", e->count);
    tw_set_err(report, replen, "%s: repaired: %" PRId64 " records (%g s) kept%s, %s, %s", j->path,
               valid, secs, cut, cnt, ann);
    return TW_EDF_REPAIR_DONE;
}

static int repair(const char *path, int64_t max_records, int force, size_t *unplaced,
                  char *report, size_t replen, char *err, size_t errlen)
{
    if (report && replen)
        report[0] = '\0';
    if (!path || !*path || strlen(path) >= PATHLEN) {
        tw_set_err(err, errlen, "repair: no file name, or one that is too long");
        return TW_EDF_REPAIR_EOPEN;
    }
    job j = {.path = path, .fd = -1, .sfd = -1};
    snprintf(j.spath, sizeof j.spath, "%s%s", path, TW_EDF_SIDECAR_SUFFIX);
    int rc;
    struct stat sb;
    j.fd = open(path, O_RDWR | O_CLOEXEC);
    if (j.fd < 0) {
        int e = errno;
        if (e == EISDIR) {
            tw_set_err(err, errlen, "%s: not an EDF file (a directory)", path);
            return TW_EDF_REPAIR_EFORMAT;
        }
        tw_set_err(err, errlen, "open %s: %s", path, strerror(e));
        return TW_EDF_REPAIR_EOPEN;
    }
    if (fstat(j.fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        tw_set_err(err, errlen, "%s: not an EDF file (not a regular file)", path);
        rc = TW_EDF_REPAIR_EFORMAT;
    } else if ((rc = open_sidecar(j.spath, &j.sfd, err, errlen)) == 0) {
        j.size = sb.st_size;
        rc = do_repair(&j, max_records, force, report, replen, err, errlen);
    }
    if (unplaced)
        *unplaced = j.unplaced;
    free_header(&j.e);
    free(j.an);
    if (j.sfd >= 0)
        close(j.sfd);
    close(j.fd);
    return rc;
}

int tw_edf_repair(const char *path, char *report, size_t replen, char *err, size_t errlen)
{
    return repair(path, -1, 0, NULL, report, replen, err, errlen);
}

int tw_edf_repair_records(const char *path, int64_t max_records, size_t *unplaced, char *report,
                          size_t replen, char *err, size_t errlen)
{
    return repair(path, max_records, 1, unplaced, report, replen, err, errlen);
}

/* ---- a directory ---------------------------------------------------------- */

static void log_result(void *user, const char *path, int rc, const char *line)
{
    (void)user;
    (void)path;
    if (rc >= 0)
        tw_log(TW_LOG_INFO, "recording %s", line);
    else
        tw_log(TW_LOG_WARNING, "recording left unfinished: %s", line);
}

int tw_edf_repair_dir(const char *dir, tw_edf_repair_cb cb, void *user,
                      tw_edf_repair_summary *sum, char *err, size_t errlen)
{
    tw_edf_repair_summary s = {0, 0, 0};
    if (!cb)
        cb = log_result;
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        tw_set_err(err, errlen, "recording directory %s: %s", dir ? dir : "(none)",
                   strerror(dir ? errno : EINVAL));
        if (sum)
            *sum = s;
        return -1;
    }
    size_t sl = strlen(TW_EDF_SIDECAR_SUFFIX);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l <= sl || strcmp(de->d_name + l - sl, TW_EDF_SIDECAR_SUFFIX) != 0)
            continue;
        char path[PATHLEN];
        int pl = snprintf(path, sizeof path, "%s/%.*s", dir, (int)(l - sl), de->d_name);
        if (pl < 0 || (size_t)pl >= sizeof path)
            continue;
        char line[PATHLEN + 512];
        s.found++;
        int rc = tw_edf_repair(path, line, sizeof line, line, sizeof line);
        if (rc >= 0)
            s.repaired++;
        else
            s.failed++;
        cb(user, path, rc, line);
    }
    closedir(d);
    if (sum)
        *sum = s;
    return 0;
}
