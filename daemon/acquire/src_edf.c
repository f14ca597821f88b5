/* src_edf.c: see src_edf.h. */
#include "src_edf.h"

#include <ctype.h>
#include <edflib.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edfrec.h"

int tw_edfsrc_probe(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char m[8];
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    return n == 8 && (!memcmp(m, "0       ", 8) || !memcmp(m, "\xff" "BIOSEMI", 8));
}

static const char *edflib_reason(int code)
{
    switch (code) {
    case EDFLIB_MALLOC_ERROR: return "out of memory";
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY: return "cannot open";
    case EDFLIB_FILE_CONTAINS_FORMAT_ERRORS:
        return "not a valid EDF/BDF file: its header or records break the format (EDFlib)";
    case EDFLIB_MAXFILES_REACHED: return "too many EDF files open";
    case EDFLIB_FILE_READ_ERROR: return "cannot read an EDF/BDF header: the file is too short (truncated?)";
    case EDFLIB_FILE_ALREADY_OPENED: return "already opened";
    case EDFLIB_FILETYPE_ERROR: return "not an EDF/BDF file";
    case EDFLIB_NUMBER_OF_SIGNALS_INVALID: return "invalid number of signals";
    case EDFLIB_FILE_IS_DISCONTINUOUS:
        return "discontinuous EDF+D/BDF+D files are not supported";
    default: return "EDFlib cannot read it";
    }
}

/* uV per physical unit of a dimension, 0 when it is not a voltage. */
static double uv_per_unit(const char *dim)
{
    char d[16];
    size_t n = 0;
    for (const char *p = dim; *p && n < sizeof d - 1; p++)
        if (*p != ' ')
            d[n++] = *p;
    d[n] = '\0';
    if (!strcasecmp(d, "uV") || !strcmp(d, "\xb5V") || !strcmp(d, "\xc2\xb5V") ||
        !strcmp(d, "\xce\xbcV"))
        return 1.0;
    if (!strcasecmp(d, "nV"))
        return 1e-3;
    if (!strcmp(d, "mV") || !strcmp(d, "MV") || !strcmp(d, "mv"))
        return 1e3;
    if (!strcasecmp(d, "V"))
        return 1e6;
    return 0.0;
}

static void trim(char *dst, size_t len, const char *src, size_t n)
{
    while (n && isspace((unsigned char)*src))
        src++, n--;
    while (n && isspace((unsigned char)src[n - 1]))
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int label_matches(const char *label, const char *want)
{
    char l[17];
    trim(l, sizeof l, label, strlen(label));
    if (!strcasecmp(l, want))
        return 1;
    const char *sp = strchr(l, ' '); /* "EMG ch0 needle": the words after the type */
    return sp && !strcasecmp(sp + 1, want);
}

static void list_labels(const struct edf_hdr_struct *h, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < h->edfsignals && n + 24 < len; i++) {
        char l[17];
        trim(l, sizeof l, h->signalparam[i].label, strlen(h->signalparam[i].label));
        n += (size_t)snprintf(buf + n, len - n, "%s%d \"%s\"", i ? ", " : "", i, l);
    }
}

/* Choose the signals. 0 or -2 with err. */
static int select_signals(tw_edfsrc *s, const struct edf_hdr_struct *h, const char *spec,
                          char *err, size_t errlen)
{
    char labels[400];
    if (spec && !strcmp(spec, TW_EDFSRC_AUTO)) {
        /* every voltage signal at the rate of the first one */
        long long per = -1;
        for (int i = 0; i < h->edfsignals && s->channels < TW_MAX_CHANNELS; i++) {
            const struct edf_param_struct *sp = &h->signalparam[i];
            if (uv_per_unit(sp->physdimension) == 0.0)
                continue;
            if (per < 0)
                per = sp->smp_in_datarecord;
            if (sp->smp_in_datarecord == per)
                s->sig[s->channels++] = i;
        }
        if (s->channels == 0) {
            list_labels(h, labels, sizeof labels);
            snprintf(err, errlen, "no signal in uV, mV, V or nV (signals: %s)", labels);
            return -2;
        }
        return 0;
    }
    if (!spec || !*spec) {
        if (h->edfsignals > TW_MAX_CHANNELS) {
            list_labels(h, labels, sizeof labels);
            snprintf(err, errlen, "%d signals (at most %d at a time): choose with --channels "
                     "(signals: %s)", h->edfsignals, TW_MAX_CHANNELS, labels);
            return -2;
        }
        for (int i = 0; i < h->edfsignals; i++)
            s->sig[s->channels++] = i;
        return 0;
    }
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char item[64];
        trim(item, sizeof item, p, n);
        int idx = -1;
        char *end;
        long v = strtol(item, &end, 10);
        if (item[0] && *end == '\0') {
            if (v < 0 || v >= h->edfsignals) {
                snprintf(err, errlen, "channel %ld: the file has signals 0 .. %d", v,
                         h->edfsignals - 1);
                return -2;
            }
            idx = (int)v;
        } else {
            for (int i = 0; i < h->edfsignals && idx < 0; i++)
                if (label_matches(h->signalparam[i].label, item))
                    idx = i;
            if (idx < 0) {
                list_labels(h, labels, sizeof labels);
                snprintf(err, errlen, "no signal labelled \"%s\" (signals: %s)", item, labels);
                return -2;
            }
        }
        if (s->channels == TW_MAX_CHANNELS) {
            snprintf(err, errlen, "more than %d channels chosen", TW_MAX_CHANNELS);
            return -2;
        }
        s->sig[s->channels++] = idx;
        p += n;
        if (*p == ',')
            p++;
    }
    if (s->channels == 0) {
        snprintf(err, errlen, "no channel chosen");
        return -2;
    }
    return 0;
}

static int check_signals(tw_edfsrc *s, const struct edf_hdr_struct *h, char *err, size_t errlen)
{
    if (h->datarecord_duration <= 0) {
        snprintf(err, errlen, "data record duration %lld x 100 ns: cannot give a sample rate",
                 h->datarecord_duration);
        return -2;
    }
    for (int c = 0; c < s->channels; c++) {
        const struct edf_param_struct *sp = &h->signalparam[s->sig[c]];
        trim(s->label[c], sizeof s->label[c], sp->label, strlen(sp->label));
        double rate = (double)sp->smp_in_datarecord * (double)EDFLIB_TIME_DIMENSION /
                      (double)h->datarecord_duration;
        if (fabs(rate - round(rate)) > 1e-6 || rate < TW_MIN_RATE || rate > TW_MAX_RATE) {
            snprintf(err, errlen, "signal %d \"%s\": sample rate %g Hz (allowed: a whole "
                     "number of Hz, %d .. %d)", s->sig[c], s->label[c], rate, TW_MIN_RATE,
                     TW_MAX_RATE);
            return -2;
        }
        if (c == 0) {
            s->rate = (int)round(rate);
            s->frames = sp->smp_in_file;
        } else if ((int)round(rate) != s->rate) {
            snprintf(err, errlen, "signal %d \"%s\" is at %g Hz, signal %d \"%s\" at %d Hz: "
                     "choose channels of one rate with --channels", s->sig[c], s->label[c],
                     rate, s->sig[0], s->label[0], s->rate);
            return -2;
        }
        s->uv[c] = uv_per_unit(sp->physdimension);
        if (s->uv[c] == 0.0) {
            char dim[9];
            trim(dim, sizeof dim, sp->physdimension, strlen(sp->physdimension));
            snprintf(err, errlen, "signal %d \"%s\": physical dimension \"%s\" is not a "
                     "voltage (uV, mV, V, nV)", s->sig[c], s->label[c], dim);
            return -2;
        }
    }
    if (s->frames <= 0) {
        snprintf(err, errlen, "holds no samples");
        return -2;
    }
    return 0;
}

static int load_annotations(tw_edfsrc *s, const struct edf_hdr_struct *h, char *err,
                            size_t errlen)
{
    if (h->annotations_in_file <= 0)
        return 0;
    s->annots = calloc((size_t)h->annotations_in_file, sizeof *s->annots);
    if (!s->annots) {
        snprintf(err, errlen, "out of memory");
        return -2;
    }
    struct edf_annotation_struct a;
    for (long long i = 0; i < h->annotations_in_file; i++) {
        if (edf_get_annotation(s->handle, (int)i, &a) != 0)
            break;
        tw_edf_annot *t = &s->annots[s->n_annots];
        t->onset_s = (double)a.onset / (double)EDFLIB_TIME_DIMENSION;
        t->duration_s = a.duration_l < 0 ? -1.0
                                         : (double)a.duration_l / (double)EDFLIB_TIME_DIMENSION;
        t->text = strdup(a.annotation);
        if (!t->text) {
            snprintf(err, errlen, "out of memory");
            return -2;
        }
        s->n_annots++;
    }
    return 0;
}

int tw_edfsrc_open(tw_edfsrc *s, const char *path, const char *channels,
                   size_t block_frames, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->handle = -1;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    fclose(f);
    struct edf_hdr_struct *h = malloc(sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -2;
    }
    int rc = -2;
    if (tw_edflib_open_read(path, h, EDFLIB_READ_ALL_ANNOTATIONS) != 0) {
        snprintf(err, errlen, "%s", edflib_reason(h->filetype));
        free(h);
        return -2;
    }
    s->handle = h->handle;
    s->filetype = h->filetype;
    if (h->edfsignals < 1) {
        snprintf(err, errlen, "holds no signal but annotations");
        goto out;
    }
    if (select_signals(s, h, channels, err, errlen) != 0 ||
        check_signals(s, h, err, errlen) != 0 || load_annotations(s, h, err, errlen) != 0)
        goto out;
    /* EDF+'s "Recording ends": what follows is padding, not data */
    for (size_t i = 0; i < s->n_annots; i++) {
        int64_t end = tw_edfsrc_sample(s, s->annots[i].onset_s);
        if (!strcasecmp(s->annots[i].text, "Recording ends") && end >= 0 && end < s->frames)
            s->frames = end;
    }
    int plus = h->filetype == EDFLIB_FILETYPE_EDFPLUS || h->filetype == EDFLIB_FILETYPE_BDFPLUS;
    snprintf(s->patient_code, sizeof s->patient_code, "%s", plus ? h->patientcode : h->patient);
    snprintf(s->recording_additional, sizeof s->recording_additional, "%s",
             plus ? h->recording_additional : h->recording);
    snprintf(s->admin_code, sizeof s->admin_code, "%s", plus ? h->admincode : "");
    snprintf(s->start_utc, sizeof s->start_utc, "%04d-%02d-%02dT%02d:%02d:%02d.%04lldZ",
             h->startdate_year % 10000, h->startdate_month % 100, h->startdate_day % 100,
             h->starttime_hour % 100, h->starttime_minute % 100, h->starttime_second % 100,
             (h->starttime_subsecond / 1000) % 10000);
    s->cap = block_frames;
    s->dbuf = malloc(block_frames * sizeof *s->dbuf);
    if (!s->dbuf) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(h);
    if (rc != 0)
        tw_edfsrc_close(s);
    return rc;
}

long tw_edfsrc_read(tw_edfsrc *s, float *const *out, char *err, size_t errlen)
{
    int64_t want = (int64_t)s->cap;
    if (s->read + want > s->frames)
        want = s->frames - s->read;
    if (want <= 0)
        return 0;
    for (int c = 0; c < s->channels; c++) {
        int got = edfread_physical_samples(s->handle, s->sig[c], (int)want, s->dbuf);
        if (got != (int)want) {
            snprintf(err, errlen, "read error in signal %d \"%s\" after %lld samples%s",
                     s->sig[c], s->label[c], (long long)s->read,
                     got < 0 ? "" : " (truncated)");
            return -1;
        }
        for (int64_t i = 0; i < want; i++)
            out[c][i] = (float)(s->dbuf[i] * s->uv[c]);
    }
    s->read += want;
    return (long)want;
}

void tw_edfsrc_close(tw_edfsrc *s)
{
    if (s->handle >= 0)
        tw_edflib_close(s->handle);
    for (size_t i = 0; i < s->n_annots; i++)
        free(s->annots[i].text);
    free(s->annots);
    free(s->dbuf);
    memset(s, 0, sizeof *s);
    s->handle = -1;
}

const char *tw_edfsrc_kind(const tw_edfsrc *s)
{
    switch (s->filetype) {
    case EDFLIB_FILETYPE_EDF: return "EDF 16-bit";
    case EDFLIB_FILETYPE_EDFPLUS: return "EDF+ 16-bit";
    case EDFLIB_FILETYPE_BDF: return "BDF 24-bit";
    default: return "BDF+ 24-bit";
    }
}

int64_t tw_edfsrc_sample(const tw_edfsrc *s, double onset_s)
{
    return (int64_t)llround(onset_s * s->rate);
}
