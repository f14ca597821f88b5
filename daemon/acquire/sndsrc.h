/* sndsrc.h: audio files in (anything libsndfile reads), as microvolts;
 * and EDF/EDF+/BDF/BDF+ files (src_edf.h), recognised by their first
 * bytes.
 *
 * Samples are read as float (libsndfile scales integer formats so that
 * digital full scale is 1.0) and multiplied by full_scale_uv. An EDF/BDF
 * file's samples are its physical values in uV (full_scale_uv unused);
 * its annotations are in edf->annots. */
#ifndef TW_SNDSRC_H
#define TW_SNDSRC_H

#include <sndfile.h>
#include <stddef.h>
#include <stdint.h>

#include "tw_limits.h"


typedef struct {
    SNDFILE *sf;
    SF_INFO info;
    double scale;       /* uV per digital unit */
    float *ibuf;        /* interleaved read buffer */
    size_t cap;         /* its capacity in frames */
    int64_t read;       /* frames read so far */
    struct tw_edfsrc *edf; /* an EDF/BDF file (src_edf.h); NULL: libsndfile */
} tw_sndsrc;

/* Open path. On error returns -1 (cannot open: missing, no permission) or
 * -2 (not acceptable audio) with a one-line reason in err (no path).
 * Refuses more than TW_MAX_CHANNELS channels or a rate outside
 * [TW_MIN_RATE, TW_MAX_RATE]. */
int tw_sndsrc_open(tw_sndsrc *s, const char *path, double full_scale_uv,
                   size_t block_frames, char *err, size_t errlen);

/* tw_sndsrc_open, choosing channels: for an EDF/BDF file, channels (NULL
 * or "": all) is src_edf.h's list of labels or indices; for an audio file
 * it must be NULL or "" (refused with -2 otherwise). */
int tw_sndsrc_open_sel(tw_sndsrc *s, const char *path, double full_scale_uv,
                       size_t block_frames, const char *channels, char *err, size_t errlen);

/* Read up to s->cap frames into out[ch][0..n) in uV. Returns n (0 at the
 * end), or -1 with a reason (read error, or the file ended before the
 * length its header gives: truncated). */
long tw_sndsrc_read(tw_sndsrc *s, float *const *out, char *err, size_t errlen);

void tw_sndsrc_close(tw_sndsrc *s);

/* "WAV float32", "FLAC int24", ... */
void tw_sndsrc_describe(const tw_sndsrc *s, char *buf, size_t len);

#endif
