/* src_file.c: input.source = file: an audio file (libsndfile) replayed
 * through the live pipeline, paced at real time or as fast as possible.
 * The source ends (TW_SRC_ENDED) when the file has been delivered. */
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sndsrc.h"
#include "src_thread.h"

typedef struct {
    tw_src_thread t; /* first */
    SNDFILE *sf;
    sf_count_t left;
} src_file;

static long fill(tw_src_thread *t, float *buf, unsigned frames)
{
    src_file *f = (src_file *)t;
    sf_count_t want = frames;
    if (want > f->left)
        want = f->left;
    if (want == 0)
        return 0;
    sf_count_t got = sf_readf_float(f->sf, buf, want);
    if (got < want) {
        snprintf(t->why, sizeof t->why, "read error: %s",
                 sf_strerror(f->sf));
        return got > 0 ? got : -1;
    }
    f->left -= got;
    return (long)got;
}

static void destroy(tw_source *s)
{
    src_file *f = (src_file *)s;
    tw_src_thread_stop(s);
    if (f->sf)
        sf_close(f->sf);
    tw_src_thread_fini(&f->t);
    free(f);
}

static const struct tw_source_ops ops = {tw_src_thread_start, tw_src_thread_stop,
                                         tw_src_thread_state, destroy};

tw_source *tw_source_open_file(const tw_config *c, char *err, size_t errlen)
{
    tw_sndsrc probe;
    char why[256];
    /* the same checks as replay: missing, truncated, not audio, range */
    int rc = tw_sndsrc_open(&probe, c->path, 1.0, 1, why, sizeof why);
    if (rc != 0) {
        snprintf(err, errlen, "input.path %s: %s", c->path[0] ? c->path : "(empty)", why);
        return NULL;
    }
    int edf = probe.edf != NULL;
    tw_sndsrc_close(&probe);
    if (edf) {
        snprintf(err, errlen, "input.path %s: an EDF/BDF file is read by `twitchd replay` and "
                 "`twitchd analyze`, not as a live source", c->path);
        return NULL;
    }
    src_file *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    f->sf = sf_open(c->path, SFM_READ, &info);
    if (!f->sf) {
        snprintf(err, errlen, "input.path %s: %s", c->path, sf_strerror(NULL));
        free(f);
        return NULL;
    }
    f->left = info.frames;
    f->t.base.ops = &ops;
    f->t.base.rate = info.samplerate;
    f->t.base.channels = info.channels;
    f->t.base.frames_per_block = (unsigned)c->frames_per_buffer;
    snprintf(f->t.base.desc, sizeof f->t.base.desc, "file %.180s, %d Hz, %d ch, %s pace",
             c->path, info.samplerate, info.channels, c->pace == TW_PACE_REALTIME ? "real-time" : "fast");
    if (tw_src_thread_init(&f->t, fill, c->pace == TW_PACE_REALTIME) != 0) {
        snprintf(err, errlen, "out of memory");
        destroy(&f->t.base);
        return NULL;
    }
    return &f->t.base;
}
