/* source.h: where samples come from. The sound card (PortAudio), an audio
 * file and the synthetic generator are three implementations of one
 * interface feeding the same ring, so tests and CI run the live path.
 *
 * A source, once started, writes blocks into the ring from its own thread
 * (or the PortAudio callback) until stopped, until its data ends (file),
 * or until it fails (device lost). Samples are float in digital
 * full-scale units; the DSP thread scales them by input.full_scale_uv.
 */
#ifndef TW_SOURCE_H
#define TW_SOURCE_H

#include <stddef.h>

#include "config.h"
#include "ring.h"

typedef enum {
    TW_SRC_RUNNING = 0,
    TW_SRC_ENDED = 1,   /* file source: all of it delivered */
    TW_SRC_FAILED = 2,  /* stream error / device gone: state() says why */
} tw_source_state;

typedef struct tw_source tw_source;

/* Errors follow docs/architecture.md, "Errors": a one-line reason in the
 * caller's err (errlen bytes). start() writes one when it returns -1;
 * state() when it returns TW_SRC_FAILED (a source that fails in a thread
 * of its own keeps the reason until state() hands it over; "" when there
 * is none). */
struct tw_source_ops {
    int (*start)(tw_source *s, tw_ring *r, char *err, size_t errlen); /* 0 or -1 */
    void (*stop)(tw_source *s);                  /* idempotent, joins */
    tw_source_state (*state)(tw_source *s, char *err, size_t errlen);
    void (*destroy)(tw_source *s);
};

struct tw_source {
    const struct tw_source_ops *ops;
    double rate;             /* Hz */
    int channels;
    unsigned frames_per_block;
    char desc[256];          /* e.g. "ALSA: emg_test (index 3), 48000 Hz, 2 ch, float32" */
};

/* Open (not start) the source input.source names. NULL with a one-line
 * reason in err on failure. */
tw_source *tw_source_open(const tw_config *c, char *err, size_t errlen);

tw_source *tw_source_open_portaudio(const tw_config *c, char *err, size_t errlen);
tw_source *tw_source_open_file(const tw_config *c, char *err, size_t errlen);
tw_source *tw_source_open_synth(const tw_config *c, char *err, size_t errlen);

/* PortAudio helpers shared by the source and list-devices. PortAudio must
 * be initialised. The device input.device / input.hostapi select, or -1
 * with a one-line reason listing the input devices. */
int tw_pa_find_device(const tw_config *c, char *err, size_t errlen);
const char *tw_pa_format_name(int format); /* "float32" .. "int32" */

static inline int tw_source_start(tw_source *s, tw_ring *r, char *err, size_t errlen)
{
    return s->ops->start(s, r, err, errlen);
}
static inline void tw_source_stop(tw_source *s) { s->ops->stop(s); }
static inline tw_source_state tw_source_get_state(tw_source *s, char *err, size_t errlen)
{
    return s->ops->state(s, err, errlen);
}
static inline void tw_source_destroy(tw_source *s)
{
    if (s)
        s->ops->destroy(s);
}

#endif
