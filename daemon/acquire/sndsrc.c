/* sndsrc.c: see sndsrc.h. */
#include "sndsrc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "src_edf.h"

/* libsndfile quietly believes the data when a header says otherwise (it
 * only notes it in its log, which no API reports): a chunk that claims
 * more bytes than the file has ("... (should be N)": the file was cut),
 * or an AIFF whose COMM chunk gives another frame count than its SSND
 * chunk holds ("not equal to frame count"). 1 with the log's words in
 * err when one is there; 0 otherwise. */
static int header_disagrees(SNDFILE *sf, char *err, size_t errlen)
{
    static const struct {
        const char *mark, *what;
    } signs[] = {
        {"should be", "truncated: the header does not match the data"},
        {"not equal to frame count", "the header and the data disagree"},
    };
    char log[4096];
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
    for (size_t k = 0; k < sizeof signs / sizeof signs[0]; k++) {
        const char *at = strstr(log, signs[k].mark);
        if (!at)
            continue;
        const char *ls = at;
        while (ls > log && ls[-1] != '\n')
            ls--;
        /* the note, with its "***" continuation lines, on one line */
        char note[512];
        size_t n = 0;
        for (const char *p = ls; *p && n < sizeof note - 1; p++) {
            if (*p == '\n' && strncmp(p + 1, "***", 3) != 0)
                break;
            if (*p == '\n' || *p == '*') {
                if (n > 0 && note[n - 1] != ' ')
                    note[n++] = ' ';
                continue;
            }
            if (*p == ' ' && (n == 0 || note[n - 1] == ' '))
                continue;
            note[n++] = *p;
        }
        note[n] = '\0';
        snprintf(err, errlen, "%s (%s)", signs[k].what, note);
        return 1;
    }
    return 0;
}

/* Bytes per frame of uncompressed data in a container that stores it as
 * it is (WAV, AIFF, AU, W64, RF64, CAF, raw); 0 for others (FLAC's
 * "PCM_16" is compressed). */
static long frame_bytes(const SF_INFO *i)
{
    switch (i->format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: case SF_FORMAT_WAVEX: case SF_FORMAT_AIFF: case SF_FORMAT_AU:
    case SF_FORMAT_W64: case SF_FORMAT_RF64: case SF_FORMAT_CAF: case SF_FORMAT_RAW:
        break;
    default:
        return 0;
    }
    long b;
    switch (i->format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8: case SF_FORMAT_ULAW: case SF_FORMAT_ALAW:
        b = 1; break;
    case SF_FORMAT_PCM_16: b = 2; break;
    case SF_FORMAT_PCM_24: b = 3; break;
    case SF_FORMAT_PCM_32: case SF_FORMAT_FLOAT: b = 4; break;
    case SF_FORMAT_DOUBLE: b = 8; break;
    default: return 0;
    }
    return b * i->channels;
}

/* 1 (reason in err) when an uncompressed file's frame count needs more
 * bytes than the whole file has: its header promises samples its body
 * does not hold. */
static int too_long(const SF_INFO *i, off_t size, char *err, size_t errlen)
{
    long fb = frame_bytes(i);
    if (fb == 0 || i->frames <= 0 || (uint64_t)i->frames <= (uint64_t)size / (uint64_t)fb)
        return 0;
    snprintf(err, errlen, "truncated: the header gives %lld frames (%lld bytes), the file has "
             "%lld bytes", (long long)i->frames, (long long)i->frames * fb, (long long)size);
    return 1;
}

/* An EDF/BDF file: src_edf.h behind this interface. */
static int open_edf(tw_sndsrc *s, const char *path, size_t block_frames, const char *channels,
                    char *err, size_t errlen)
{
    s->edf = calloc(1, sizeof *s->edf);
    if (!s->edf) {
        snprintf(err, errlen, "out of memory");
        return -2;
    }
    int rc = tw_edfsrc_open(s->edf, path, channels, block_frames, err, errlen);
    if (rc != 0) {
        free(s->edf);
        s->edf = NULL;
        return rc;
    }
    s->info.channels = s->edf->channels;
    s->info.samplerate = s->edf->rate;
    s->info.frames = s->edf->frames;
    s->scale = 1.0;
    s->cap = block_frames;
    return 0;
}

int tw_sndsrc_open(tw_sndsrc *s, const char *path, double full_scale_uv,
                   size_t block_frames, char *err, size_t errlen)
{
    return tw_sndsrc_open_sel(s, path, full_scale_uv, block_frames, NULL, err, errlen);
}

int tw_sndsrc_open_sel(tw_sndsrc *s, const char *path, double full_scale_uv,
                       size_t block_frames, const char *channels, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "is a directory, not an audio file");
        return -2;
    }
    if (tw_edfsrc_probe(path))
        return open_edf(s, path, block_frames, channels, err, errlen);
    if (channels && *channels) {
        snprintf(err, errlen, "choosing channels (--channels) needs an EDF/BDF file");
        return -2;
    }
    s->sf = sf_open(path, SFM_READ, &s->info);
    if (!s->sf) {
        snprintf(err, errlen, "not a readable audio file: %s", sf_strerror(NULL));
        return -2;
    }
    if (s->info.channels < 1 || s->info.channels > TW_MAX_CHANNELS) {
        snprintf(err, errlen, "%d channels (allowed 1 .. %d)", s->info.channels,
                 TW_MAX_CHANNELS);
        goto fail;
    }
    if (s->info.samplerate < TW_MIN_RATE || s->info.samplerate > TW_MAX_RATE) {
        snprintf(err, errlen, "sample rate %d Hz (allowed %d .. %d Hz)",
                 s->info.samplerate, TW_MIN_RATE, TW_MAX_RATE);
        goto fail;
    }
    if (header_disagrees(s->sf, err, errlen) || too_long(&s->info, st.st_size, err, errlen))
        goto fail;
    if (s->info.frames <= 0) {
        snprintf(err, errlen, "holds no samples");
        goto fail;
    }
    s->scale = full_scale_uv;
    s->cap = block_frames;
    s->ibuf = malloc(block_frames * (size_t)s->info.channels * sizeof *s->ibuf);
    if (!s->ibuf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return 0;
fail:
    sf_close(s->sf);
    s->sf = NULL;
    return -2;
}

long tw_sndsrc_read(tw_sndsrc *s, float *const *out, char *err, size_t errlen)
{
    if (s->edf) {
        long n = tw_edfsrc_read(s->edf, out, err, errlen);
        if (n > 0)
            s->read += n;
        return n;
    }
    int nch = s->info.channels;
    sf_count_t want = (sf_count_t)s->cap;
    if (s->read + want > s->info.frames)
        want = s->info.frames - s->read;
    if (want <= 0)
        return 0;
    sf_count_t got = sf_readf_float(s->sf, s->ibuf, want);
    if (got < want) {
        int e = sf_error(s->sf);
        if (e != SF_ERR_NO_ERROR)
            snprintf(err, errlen, "read error after %lld frames: %s",
                     (long long)(s->read + got), sf_strerror(s->sf));
        else
            snprintf(err, errlen,
                     "truncated: the header promises %lld frames, the file "
                     "holds %lld", (long long)s->info.frames,
                     (long long)(s->read + got));
        return -1;
    }
    /* scaled in place over the interleaved block (contiguous: vectorised
     * below; GCC's -O2 does not vectorise a loop of unknown length), then
     * one channel at a time out of it */
    const double scale = s->scale;
    float *in = s->ibuf;
    size_t total = (size_t)got * (size_t)nch;
    float *o1 = nch == 1 ? out[0] : in; /* mono: straight to the output */
    size_t i = 0;
#if defined(__SSE2__)
    const __m128d sc = _mm_set1_pd(scale);
    for (; i + 4 <= total; i += 4) {
        __m128 v = _mm_loadu_ps(in + i);
        __m128d lo = _mm_mul_pd(_mm_cvtps_pd(v), sc);
        __m128d hi = _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(v, v)), sc);
        _mm_storeu_ps(o1 + i, _mm_movelh_ps(_mm_cvtpd_ps(lo), _mm_cvtpd_ps(hi)));
    }
#endif
    for (; i < total; i++)
        o1[i] = (float)(in[i] * scale);
    if (nch > 1)
        for (int c = 0; c < nch; c++) {
            float *o = out[c];
            for (sf_count_t k = 0; k < got; k++)
                o[k] = in[k * nch + c];
        }
    s->read += got;
    return (long)got;
}

void tw_sndsrc_close(tw_sndsrc *s)
{
    if (s->sf)
        sf_close(s->sf);
    if (s->edf) {
        tw_edfsrc_close(s->edf);
        free(s->edf);
    }
    free(s->ibuf);
    memset(s, 0, sizeof *s);
}

void tw_sndsrc_describe(const tw_sndsrc *s, char *buf, size_t len)
{
    if (s->edf) {
        snprintf(buf, len, "%s", tw_edfsrc_kind(s->edf));
        return;
    }
    SF_FORMAT_INFO fi;
    fi.format = s->info.format & SF_FORMAT_TYPEMASK;
    const char *major = sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0
                            ? fi.name : "audio";
    const char *sub;
    switch (s->info.format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_16: sub = "int16"; break;
    case SF_FORMAT_PCM_24: sub = "int24"; break;
    case SF_FORMAT_PCM_32: sub = "int32"; break;
    case SF_FORMAT_FLOAT: sub = "float32"; break;
    case SF_FORMAT_DOUBLE: sub = "float64"; break;
    case SF_FORMAT_PCM_U8: sub = "uint8"; break;
    default: sub = "other"; break;
    }
    snprintf(buf, len, "%s %s", major, sub);
}
