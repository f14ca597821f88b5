/* edfrec.c: see edfrec.h.
 *
 * EDFlib does the file format; this file adds what a recorder needs around
 * it: parameter checks with reasons, rounding (EDFlib's physical writer
 * truncates toward zero, so samples are quantised here and written with
 * edf_blockwrite_digital_samples), clip counting, 1 s record buffering, a
 * second descriptor that checks each record reached the file and keeps the
 * header's record count current, and the annotation sidecar.
 */
#include "edfrec.h"
#include "edfrepair.h"

#include <edflib.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"

#define FILE_MODE 0640
#define EDF_RECORD_MAX (10L * 1024 * 1024) /* bytes, EDFlib's limit for EDF+ */
#define BDF_RECORD_MAX (15L * 1024 * 1024) /* bytes, EDFlib's limit for BDF+ */
/* bytes per annotation signal per record (EDFlib 1.2x): for the size check
 * at open only; the record size is read back from the header EDFlib wrote */
#define EDFLIB_ANNOT_BYTES 114
#define ANNOT_SIGNALS_MAX 64
#define YEAR_MIN 1985          /* EDF's two-digit years */
#define YEAR_MAX 2084

/* EDFlib's table of open files is global: open and close under this. */
static pthread_mutex_t edflib_mu = PTHREAD_MUTEX_INITIALIZER;

struct tw_edfrec {
    int h;                     /* EDFlib handle */
    int fd;                    /* our descriptor on the file: fstat, record count */
    int sfd;                   /* the sidecar (locked), -1 once closed */
    char path[TW_EDFREC_PATH_MAX];
    char sidecar[TW_EDFREC_PATH_MAX + 8];
    int bdf, channels, rate, annot_signals;
    double step, offset;       /* uV per digital step; EDFlib's digital offset */
    double pmax;               /* uV */
    int dmin, dmax;
    int zero_code;             /* the digital code nearest 0 uV */
    int *buf;                  /* channels x rate digital samples, signal after signal */
    int pos;                   /* frames in buf */
    long hdrsize, recsize;     /* bytes; recsize 0 until read from the header */
    int64_t handed;            /* records EDFlib accepted */
    int failed;
    tw_edfrec_stats st;
};

int tw_edflib_open_read(const char *path, struct edf_hdr_struct *hdr, int read_annotations)
{
    pthread_mutex_lock(&edflib_mu);
    int rc = edfopen_file_readonly(path, hdr, read_annotations);
    pthread_mutex_unlock(&edflib_mu);
    return rc;
}

int tw_edflib_close(int handle)
{
    pthread_mutex_lock(&edflib_mu);
    int rc = edfclose_file(handle);
    pthread_mutex_unlock(&edflib_mu);
    return rc;
}

/* ---- text ----------------------------------------------------------------- */

/* Printable ASCII for a header field: each other byte or UTF-8 character
 * becomes '?'. Cut to cap - 1 bytes. */
static void ascii_clean(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    const unsigned char *s = (const unsigned char *)(src ? src : "");
    while (*s && n + 1 < cap) {
        int l = tw_edf_utf8_len((const char *)s);
        if (l == 1 && *s >= 0x20 && *s < 0x7f)
            dst[n++] = (char)*s;
        else
            dst[n++] = '?';
        s += l ? l : 1;
    }
    dst[n] = '\0';
}

/* ---- errors --------------------------------------------------------------- */

/* EDFlib hides its stdio stream, so a failed write comes back as -1 or
 * as a file shorter than it should be; the cause is read off the file
 * system and the resource limit. */
static int guess_errno(const tw_edfrec *r, off_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)want > rl.rlim_cur)
        return EFBIG;
    struct statvfs sv;
    if (fstatvfs(r->fd, &sv) == 0 && (sv.f_bavail == 0 || sv.f_bfree == 0))
        return ENOSPC;
    return EIO;
}

static void fail(tw_edfrec *r, int e, const char *what)
{
    if (r->failed)
        return;
    r->failed = 1;
    r->st.error = e;
    snprintf(r->st.msg, sizeof r->st.msg, "%s %s: %s (%" PRIu64 " s recorded)", what,
             r->path, strerror(e), r->st.records);
}

static int report_failed(const tw_edfrec *r, char *err, size_t errlen)
{
    tw_set_err(err, errlen, "%s", r->st.msg);
    return TW_EDFREC_EIO;
}

/* ---- open ----------------------------------------------------------------- */

static int check_params(const tw_edfrec_params *p, int *rate, int *nannot, char *err,
                        size_t errlen)
{
    if (!p || !p->path || !*p->path) {
        tw_set_err(err, errlen, "recording: no file name");
        return -1;
    }
    if (strlen(p->path) >= TW_EDFREC_PATH_MAX) {
        tw_set_err(err, errlen, "recording %.60s...: file name longer than %d bytes", p->path,
                   TW_EDFREC_PATH_MAX - 1);
        return -1;
    }
    if (p->channels < 1 || p->channels > TW_EDFREC_CH_MAX) {
        tw_set_err(err, errlen, "recording %s: %d channels (allowed 1 .. %d)", p->path,
                   p->channels, TW_EDFREC_CH_MAX);
        return -1;
    }
    if (!isfinite(p->rate_hz) || p->rate_hz < TW_EDFREC_RATE_MIN ||
        p->rate_hz > TW_EDFREC_RATE_MAX) {
        tw_set_err(err, errlen, "recording %s: rate %g Hz (allowed %d .. %d Hz)", p->path,
                   p->rate_hz, TW_EDFREC_RATE_MIN, TW_EDFREC_RATE_MAX);
        return -1;
    }
    if (fabs(p->rate_hz - nearbyint(p->rate_hz)) > 1e-9) {
        tw_set_err(err, errlen,
                   "recording %s: rate %.6f Hz is not a whole number of Hz "
                   "(a 1 s EDF record holds a whole number of samples)",
                   p->path, p->rate_hz);
        return -1;
    }
    *rate = (int)nearbyint(p->rate_hz);
    if (!isfinite(p->phys_max_uv) || nearbyint(p->phys_max_uv) < 1 ||
        p->phys_max_uv > TW_EDFREC_PHYS_MAX) {
        tw_set_err(err, errlen, "recording %s: physical range +-%g uV (allowed 1 .. %.0f uV)",
                   p->path, p->phys_max_uv, TW_EDFREC_PHYS_MAX);
        return -1;
    }
    *nannot = p->annot_signals ? p->annot_signals : TW_EDFREC_ANNOT_SIGNALS;
    if (p->annot_signals < 0 || p->annot_signals > ANNOT_SIGNALS_MAX) {
        tw_set_err(err, errlen, "recording %s: %d annotation signals (allowed 0 .. %d)",
                   p->path, p->annot_signals, ANNOT_SIGNALS_MAX);
        return -1;
    }
    long bytes = (long)p->channels * *rate * (p->bdf ? 3 : 2) + (long)*nannot * EDFLIB_ANNOT_BYTES;
    long max = p->bdf ? BDF_RECORD_MAX : EDF_RECORD_MAX;
    if (bytes > max) {
        tw_set_err(err, errlen,
                   "recording %s: a 1 s record of %d channels at %d Hz is %ld bytes, "
                   "more than EDFlib's %ld (fewer channels or a lower rate)",
                   p->path, p->channels, *rate, bytes, max);
        return -1;
    }
    int by = p->birth_year, bm = p->birth_month, bd = p->birth_day;
    if ((by || bm || bd) && (by < 1800 || by > 3000 || bm < 1 || bm > 12 || bd < 1 || bd > 31)) {
        tw_set_err(err, errlen, "recording %s: birth date %04d-%02d-%02d is not a date "
                   "(year 1800 .. 3000; all 0: unknown)", p->path, by, bm, bd);
        return -1;
    }
    if (p->sex && p->sex != 'M' && p->sex != 'F' && p->sex != 'm' && p->sex != 'f') {
        tw_set_err(err, errlen, "recording %s: sex '%c' (allowed 'M', 'F' or none)", p->path,
                   p->sex);
        return -1;
    }
    if (p->start.tv_nsec < 0 || p->start.tv_nsec > 999999999) {
        tw_set_err(err, errlen, "recording %s: start time nanoseconds %ld (allowed 0 .. 999999999)",
                   p->path, (long)p->start.tv_nsec);
        return -1;
    }
    return 0;
}

/* Every optional header field and the start time. -1 with err on failure. */
static int set_header(tw_edfrec *r, const tw_edfrec_params *p, char *err, size_t errlen)
{
    char s[81];
    struct {
        int (*fn)(int, const char *);
        const char *v;
    } txt[] = {
        {edf_set_patientcode, p->patient_code},
        {edf_set_patientname, p->patient_name},
        {edf_set_patient_additional, p->patient_additional},
        {edf_set_admincode, p->admin_code},
        {edf_set_technician, p->technician},
        {edf_set_equipment, p->equipment ? p->equipment : "twitchd"},
        {edf_set_recording_additional, p->recording_additional},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof txt / sizeof txt[0]; i++) {
        if (!txt[i].v || !*txt[i].v)
            continue;
        ascii_clean(s, sizeof s, txt[i].v);
        bad |= txt[i].fn(r->h, s) != 0;
    }
    if (p->sex)
        bad |= edf_set_gender(r->h, p->sex == 'M' || p->sex == 'm') != 0;
    if (p->birth_year)
        bad |= edf_set_birthdate(r->h, p->birth_year, p->birth_month, p->birth_day) != 0;
    struct timespec t = p->start;
    if (t.tv_sec == 0 && t.tv_nsec == 0)
        clock_gettime(CLOCK_REALTIME, &t);
    struct tm tm;
    time_t sec = t.tv_sec;
    if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 < YEAR_MIN || tm.tm_year + 1900 > YEAR_MAX) {
        tw_set_err(err, errlen, "recording %s: start time %lld is outside EDF's years %d .. %d",
                   r->path, (long long)t.tv_sec, YEAR_MIN, YEAR_MAX);
        return -1;
    }
    bad |= edf_set_startdatetime(r->h, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                 tm.tm_min, tm.tm_sec) != 0;
    /* 100 ns units, kept to 100 us as EDFlib advises */
    bad |= edf_set_subsecond_starttime(r->h, (int)(t.tv_nsec / 100000) * 1000) != 0;
    if (bad) {
        tw_set_err(err, errlen, "recording %s: EDFlib refused a header field", r->path);
        return -1;
    }
    return 0;
}

static int set_signals(tw_edfrec *r, const tw_edfrec_params *p, char *err, size_t errlen)
{
    int bad = edf_set_number_of_annotation_signals(r->h, r->annot_signals) != 0;
    for (int c = 0; c < r->channels && !bad; c++) {
        char label[17];
        if (p->labels && p->labels[c] && *p->labels[c])
            ascii_clean(label, sizeof label, p->labels[c]);
        else
            snprintf(label, sizeof label, "ch%d", c);
        bad |= edf_set_samplefrequency(r->h, c, r->rate) != 0;
        bad |= edf_set_physical_maximum(r->h, c, r->pmax) != 0;
        bad |= edf_set_physical_minimum(r->h, c, -r->pmax) != 0;
        bad |= edf_set_digital_maximum(r->h, c, r->dmax) != 0;
        bad |= edf_set_digital_minimum(r->h, c, r->dmin) != 0;
        bad |= edf_set_physical_dimension(r->h, c, "uV") != 0;
        bad |= edf_set_label(r->h, c, label) != 0;
        char field[81];
        if (p->transducers && p->transducers[c]) {
            ascii_clean(field, sizeof field, p->transducers[c]);
            bad |= edf_set_transducer(r->h, c, field) != 0;
        }
        if (p->prefilters && p->prefilters[c]) {
            ascii_clean(field, sizeof field, p->prefilters[c]);
            bad |= edf_set_prefilter(r->h, c, field) != 0;
        }
    }
    if (bad) {
        tw_set_err(err, errlen, "recording %s: EDFlib refused a signal parameter", r->path);
        return -1;
    }
    return 0;
}

static const char *edflib_open_reason(int rc)
{
    switch (rc) {
    case EDFLIB_MALLOC_ERROR: return "out of memory";
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY: return "cannot create the file";
    case EDFLIB_MAXFILES_REACHED: return "EDFlib has too many files open";
    case EDFLIB_FILE_ALREADY_OPENED: return "the file is open in EDFlib already";
    case EDFLIB_NUMBER_OF_SIGNALS_INVALID: return "invalid number of signals";
    default: return "EDFlib cannot open it";
    }
}

/* The sidecar: a new file, locked. One that exists already belongs to
 * a recording in progress (locked) or to one a crash left unfinished:
 * both are refused, so neither is overwritten. */
static int open_sidecar(tw_edfrec *r, char *err, size_t errlen)
{
    snprintf(r->sidecar, sizeof r->sidecar, "%s%s", r->path, TW_EDF_SIDECAR_SUFFIX);
    r->sfd = open(r->sidecar, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, FILE_MODE);
    if (r->sfd < 0 && errno == EEXIST) {
        int fd = open(r->sidecar, O_RDONLY | O_CLOEXEC);
        int busy = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
        if (fd >= 0)
            close(fd);
        if (busy)
            tw_set_err(err, errlen, "recording %s: another recorder is writing it", r->path);
        else
            tw_set_err(err, errlen, "recording %s: an unfinished recording is there (%s exists): "
                       "run `twitchd repair %s` first", r->path, r->sidecar, r->path);
        return -1;
    }
    if (r->sfd < 0) {
        tw_set_err(err, errlen, "recording: open %s: %s", r->sidecar, strerror(errno));
        return -1;
    }
    size_t hl = strlen(TW_EDF_SIDECAR_HEADER);
    errno = 0;
    if (flock(r->sfd, LOCK_EX | LOCK_NB) < 0 ||
        write(r->sfd, TW_EDF_SIDECAR_HEADER, hl) != (ssize_t)hl) {
        tw_set_err(err, errlen, "recording: write %s: %s", r->sidecar,
                   errno ? strerror(errno) : "short write");
        close(r->sfd);
        r->sfd = -1;
        unlink(r->sidecar);
        return -1;
    }
    return 0;
}

static void free_rec(tw_edfrec *r)
{
    if (r->sfd >= 0)
        close(r->sfd);
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r);
}

tw_edfrec *tw_edfrec_open(const tw_edfrec_params *p, char *err, size_t errlen)
{
    int rate, nannot;
    if (check_params(p, &rate, &nannot, err, errlen) < 0)
        return NULL;
    tw_edfrec *r = calloc(1, sizeof *r);
    if (!r) {
        tw_set_err(err, errlen, "recording %s: out of memory", p->path);
        return NULL;
    }
    r->h = -1;
    r->fd = -1;
    r->sfd = -1;
    snprintf(r->path, sizeof r->path, "%s", p->path);
    r->bdf = p->bdf ? 1 : 0;
    r->channels = p->channels;
    r->rate = rate;
    r->annot_signals = nannot;
    r->pmax = nearbyint(p->phys_max_uv);
    r->dmax = r->bdf ? 8388607 : 32767;
    r->dmin = r->bdf ? -8388608 : -32768;
    /* EDFlib's mapping: uV = step * (offset + digital) */
    r->step = 2.0 * r->pmax / ((double)r->dmax - r->dmin);
    r->offset = r->pmax / r->step - r->dmax;
    r->zero_code = (int)lround(-r->offset);
    r->hdrsize = (long)TW_EDF_HDR_PER_SIGNAL * (r->channels + nannot) + TW_EDF_HDR_FIXED;
    r->buf = malloc(sizeof *r->buf * (size_t)r->channels * (size_t)rate);
    if (!r->buf) {
        tw_set_err(err, errlen, "recording %s: out of memory", p->path);
        free_rec(r);
        return NULL;
    }
    if (open_sidecar(r, err, errlen) < 0) {
        free_rec(r);
        return NULL;
    }
    /* Created here first, new (O_EXCL: an existing file is never
     * replaced), for the mode and a precise errno; EDFlib's
     * fopen(.., "wb") then opens the same, empty, file. */
    r->fd = open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
    if (r->fd < 0) {
        tw_set_err(err, errlen, "recording: open %s: %s", r->path, strerror(errno));
        unlink(r->sidecar);
        free_rec(r);
        return NULL;
    }
    pthread_mutex_lock(&edflib_mu);
    r->h = edfopen_file_writeonly(r->path, r->bdf ? EDFLIB_FILETYPE_BDFPLUS : EDFLIB_FILETYPE_EDFPLUS,
                                  r->channels);
    pthread_mutex_unlock(&edflib_mu);
    if (r->h < 0) {
        tw_set_err(err, errlen, "recording %s: %s", r->path, edflib_open_reason(r->h));
        unlink(r->path);
        unlink(r->sidecar);
        free_rec(r);
        return NULL;
    }
    if (set_signals(r, p, err, errlen) < 0 || set_header(r, p, err, errlen) < 0) {
        tw_edflib_close(r->h); /* nothing written: it only frees */
        unlink(r->path);
        unlink(r->sidecar);
        free_rec(r);
        return NULL;
    }
    return r;
}

/* ---- records -------------------------------------------------------------- */

/* Record size from the header EDFlib wrote (annotation signals' share
 * included). 0 if it cannot be read. */
static long read_recsize(const tw_edfrec *r)
{
    int ns = r->channels + r->annot_signals;
    char f[9] = {0};
    off_t off = TW_EDF_HDR_FIXED + (off_t)ns * TW_EDF_HDR_NSAMP_OFF + (off_t)r->channels * TW_EDF_HDR_NSAMP_LEN;
    if (pread(r->fd, f, 8, off) != 8)
        return 0;
    long annot = strtol(f, NULL, 10);
    if (annot < 1)
        return 0;
    int bps = r->bdf ? 3 : 2;
    return ((long)r->channels * r->rate + annot * r->annot_signals) * bps;
}

/* Rewrite the header's record count (8 characters, left-justified). */
static int write_count(int fd, int64_t n)
{
    char f[24];
    snprintf(f, sizeof f, "%-8" PRId64, n);
    return pwrite(fd, f, 8, TW_EDF_HDR_COUNT_OFF) == 8 ? 0 : -1;
}

/* buf is full: hand it to EDFlib, check it reached the file, count it. */
static int flush_record(tw_edfrec *r)
{
    /* before the first record the record size is not known from the
     * header yet: EDFlib's, for the cause of a failure (EFBIG) */
    long recsize = r->recsize ? r->recsize
                              : ((long)r->channels * r->rate * (r->bdf ? 3 : 2) +
                                 (long)r->annot_signals * EDFLIB_ANNOT_BYTES);
    off_t want = (off_t)r->hdrsize + (off_t)(r->handed + 1) * recsize;
    if (edf_blockwrite_digital_samples(r->h, r->buf) != 0) {
        fail(r, guess_errno(r, want), "write");
        return -1;
    }
    r->handed++;
    r->pos = 0;
    if (!r->recsize) {
        r->recsize = read_recsize(r);
        if (!r->recsize) {
            fail(r, guess_errno(r, want), "write");
            return -1;
        }
    }
    want = (off_t)r->hdrsize + (off_t)r->handed * r->recsize;
    struct stat sb;
    if (fstat(r->fd, &sb) < 0) {
        fail(r, errno, "fstat");
        return -1;
    }
    if (sb.st_size < want) {
        fail(r, guess_errno(r, want), "write");
        return -1;
    }
    if (write_count(r->fd, r->handed) < 0) {
        fail(r, errno ? errno : EIO, "write (record count)");
        return -1;
    }
    r->st.records = (uint64_t)r->handed;
    return 0;
}

static int quantise(tw_edfrec *r, float v)
{
    double x = v;
    if (x != x) {
        r->st.clipped++;
        return r->zero_code;
    }
    if (x > r->pmax) {
        r->st.clipped++;
        return r->dmax;
    }
    if (x < -r->pmax) {
        r->st.clipped++;
        return r->dmin;
    }
    long d = lround(x / r->step - r->offset);
    return d > r->dmax ? r->dmax : d < r->dmin ? r->dmin : (int)d;
}

int tw_edfrec_write(tw_edfrec *r, const float *const *x, size_t n, char *err, size_t errlen)
{
    if (!r || (!x && n)) {
        tw_set_err(err, errlen, "recording: write: invalid argument");
        return TW_EDFREC_EINVAL;
    }
    if (r->failed)
        return report_failed(r, err, errlen);
    size_t done = 0;
    while (done < n) {
        size_t m = (size_t)(r->rate - r->pos);
        if (m > n - done)
            m = n - done;
        for (int c = 0; c < r->channels; c++) {
            int *d = r->buf + (size_t)c * (size_t)r->rate + (size_t)r->pos;
            const float *s = x[c] + done;
            for (size_t i = 0; i < m; i++)
                d[i] = quantise(r, s[i]);
        }
        r->pos += (int)m;
        done += m;
        r->st.frames += m;
        if (r->pos == r->rate && flush_record(r) < 0)
            return report_failed(r, err, errlen);
    }
    return TW_EDFREC_OK;
}

/* ---- annotations ---------------------------------------------------------- */

int tw_edfrec_annotate(tw_edfrec *r, double onset_s, double duration_s, const char *text,
                       char *err, size_t errlen)
{
    if (!r || !isfinite(onset_s) || onset_s < 0 || onset_s * TW_EDF_ANNOT_PER_S > TW_EDF_ANNOT_UNITS_MAX ||
        duration_s != duration_s || duration_s * TW_EDF_ANNOT_PER_S > TW_EDF_ANNOT_UNITS_MAX) {
        tw_set_err(err, errlen, "recording: annotation at %g s: invalid argument", onset_s);
        return TW_EDFREC_EINVAL;
    }
    if (r->failed)
        return report_failed(r, err, errlen);
    char t[TW_EDF_TEXT_MAX + 1];
    tw_edf_clean_text(t, text);
    long long on = llround(onset_s * 1e4);
    long long du = duration_s < 0 ? -1 : llround(duration_s * 1e4);
    char line[TW_EDF_TEXT_MAX + 64];
    int len = snprintf(line, sizeof line, "%lld %lld %s\n", on, du, t);
    errno = 0;
    if (write(r->sfd, line, (size_t)len) != len) {
        fail(r, errno ? errno : guess_errno(r, 0), "write (annotation sidecar) for");
        return report_failed(r, err, errlen);
    }
    if (edfwrite_annotation_utf8(r->h, on, du, t) != 0) {
        fail(r, ENOMEM, "annotation (EDFlib) for");
        return report_failed(r, err, errlen);
    }
    r->st.annotations++;
    return TW_EDFREC_OK;
}

void tw_edfrec_get_stats(const tw_edfrec *r, tw_edfrec_stats *st)
{
    if (!r) {
        memset(st, 0, sizeof *st);
        return;
    }
    *st = r->st;
}

/* ---- close ---------------------------------------------------------------- */

/* After EDFlib's close: does the file hold exactly the records and the
 * count, and did every annotation fit EDFlib's one per signal and record? */
static int finished_cleanly(tw_edfrec *r)
{
    struct stat sb;
    char f[9] = {0};
    if (fstat(r->fd, &sb) < 0 || sb.st_size != (off_t)r->hdrsize + (off_t)r->handed * r->recsize)
        return 0;
    if (pread(r->fd, f, 8, TW_EDF_HDR_COUNT_OFF) != 8 || strtoll(f, NULL, 10) != r->handed)
        return 0;
    return r->st.annotations <= (uint64_t)r->handed * (uint64_t)r->annot_signals;
}

static void remove_recording(tw_edfrec *r)
{
    unlink(r->path);
    unlink(r->sidecar);
}

int tw_edfrec_close(tw_edfrec *r, tw_edfrec_stats *st, char *err, size_t errlen)
{
    if (!r)
        return TW_EDFREC_OK;
    if (!r->failed && r->pos > 0) {
        /* the padding is no data: EDF+'s standard text marks where it ends */
        tw_edfrec_annotate(r, (double)r->st.frames / r->rate, -1, TW_EDFREC_END_TEXT, NULL, 0);
        uint64_t pad = (uint64_t)(r->rate - r->pos);
        for (int c = 0; c < r->channels; c++)
            for (int i = r->pos; i < r->rate; i++)
                r->buf[(size_t)c * (size_t)r->rate + (size_t)i] = r->zero_code;
        if (flush_record(r) == 0)
            r->st.padded = pad;
    }
    tw_edflib_close(r->h);
    r->h = -1;
    int rc = TW_EDFREC_OK;
    if (r->st.records == 0) {
        /* not one whole record reached the file: EDF cannot hold that */
        remove_recording(r);
    } else if (!r->failed && finished_cleanly(r) && fsync(r->fd) == 0) {
        unlink(r->sidecar);
    } else {
        /* cut to the records verified, count and annotations by hand */
        close(r->sfd); /* releases the lock for the repair */
        r->sfd = -1;
        char rep[TW_EDFREC_PATH_MAX + 256], rerr[TW_EDFREC_PATH_MAX + 256];
        size_t unplaced = 0;
        int rr = tw_edf_repair_records(r->path, (int64_t)r->st.records, &unplaced, rep, sizeof rep,
                                       rerr, sizeof rerr);
        r->st.annotations_lost = unplaced;
        if (rr < 0) {
            if (!r->failed)
                fail(r, EIO, "finish");
            size_t l = strlen(r->st.msg);
            snprintf(r->st.msg + l, sizeof r->st.msg - l, "; %s", rerr);
        }
    }
    if (r->failed)
        rc = report_failed(r, err, errlen);
    if (st)
        *st = r->st;
    free_rec(r);
    return rc;
}
