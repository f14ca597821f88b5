/* sndsrc.c: see sndsrc.h. */
#include "sndsrc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int tw_sndsrc_open(tw_sndsrc *s, const char *path, double full_scale_uv,
                   size_t block_frames, char *err, size_t errlen)
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
    /* libsndfile quietly shortens the length of a file whose data ends
     * before its header says (it only notes "should be" in its log): look
     * there, as no API reports it. */
    char log[4096];
    sf_command(s->sf, SFC_GET_LOG_INFO, log, sizeof log);
    const char *sb = strstr(log, "should be");
    if (sb) {
        const char *ls = sb;
        while (ls > log && ls[-1] != '\n')
            ls--;
        const char *le = strchr(sb, '\n');
        snprintf(err, errlen, "truncated: the header does not match the data (%.*s)",
                 (int)(le ? le - ls : (long)strlen(ls)), ls);
        goto fail;
    }
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
    for (sf_count_t i = 0; i < got; i++)
        for (int c = 0; c < nch; c++)
            out[c][i] = (float)(s->ibuf[i * nch + c] * s->scale);
    s->read += got;
    return (long)got;
}

void tw_sndsrc_close(tw_sndsrc *s)
{
    if (s->sf)
        sf_close(s->sf);
    free(s->ibuf);
    memset(s, 0, sizeof *s);
}

void tw_sndsrc_describe(const tw_sndsrc *s, char *buf, size_t len)
{
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
