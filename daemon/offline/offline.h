/* offline.h: the pipeline fed from a file, as `replay` and `analyze` do.
 * The frames read are given to the pipeline in steps of at most
 * TW_OFFLINE_STEP frames (the live daemon's default block); after each
 * step every channel's signal quality is judged as the live daemon judges
 * it (quality_watch.h), so that an event over a bad stretch carries the
 * same "quality" offline as live. An EDF+/BDF+ file's insertion marks
 * ("insertion", "insertion: LABEL") go to the pipeline at their sample
 * (the live daemon marks an insertion between two blocks, before the
 * sample it names), and they and its marks ("mark: TEXT") to on_annot.
 */
#ifndef TW_OFFLINE_H
#define TW_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pipeline.h"
#include "quality_watch.h"
#include "sndsrc.h"

#define TW_OFFLINE_STEP 256     /* frames per quality judgement */
#define TW_OFFLINE_CLIP 0.999   /* |x| at or above this fraction of full scale: clipped */

/* An annotation at input sample `sample`: an insertion (label: its label
 * or NULL) or a mark (label: its text). */
typedef void (*tw_offline_annot_fn)(void *user, int64_t sample, int insertion, const char *label);
/* Channel ch's signal quality became `flags` (TW_Q_*) at sample `at`. */
typedef void (*tw_offline_quality_fn)(void *user, int ch, int64_t at, unsigned flags);

typedef struct {
    tw_pipeline *pl;
    const tw_config *cfg;
    int nch;
    double fs;
    float clip_uv;        /* clipped at or above this |x|, uV (INFINITY: not judged) */
    int64_t next;         /* input index of the next frame */
    size_t annot;         /* the file's next annotation */
    tw_quality_watch w[TW_MAX_CHANNELS];
    uint64_t clipped[TW_MAX_CHANNELS];
    tw_offline_annot_fn on_annot;     /* may be NULL */
    tw_offline_quality_fn on_quality; /* may be NULL */
    void *user;
} tw_offline;

/* For src (open) and its pipeline pl. Clipping is judged on audio files
 * (their digital full scale); an EDF/BDF file's samples are physical
 * values, whose full scale is per channel, and are not judged. */
void tw_offline_init(tw_offline *o, tw_pipeline *pl, const tw_config *cfg, const tw_sndsrc *src,
                     tw_offline_annot_fn on_annot, tw_offline_quality_fn on_quality, void *user);

/* The n frames just read from src into buf[ch][0..n). */
void tw_offline_feed(tw_offline *o, const tw_sndsrc *src, float *const *buf, size_t n);

/* The conditions of the bad stretches of channel ch that overlap samples
 * first .. last (0: a clean stretch); for an event's "quality". */
unsigned tw_offline_quality(const tw_offline *o, int ch, int64_t first, int64_t last);

#endif
