/* src_portaudio.c: input.source = portaudio: a sound card through
 * PortAudio 19.6 in callback mode.
 *
 * The callback only converts to float (integer formats scaled so that
 * digital full scale is +-1.0) and writes into the ring: no lock, no
 * malloc, no logging, no system call but the ring's clock_gettime. Every
 * callback delivers exactly input.frames_per_buffer frames (PortAudio's
 * buffer processor guarantees it when a fixed size is asked for; a larger
 * buffer would be split into blocks of that size).
 *
 * What the caller may rely on:
 *  - open() initialises PortAudio, selects the device (tw_pa_find_device,
 *    pa_device.c; all of it under tw_pa_lock, as start, stop and destroy),
 *    checks its input channels and opens the stream (which checks rate,
 *    channels and format: the error names them); on any failure NULL with
 *    a one-line reason and nothing left open;
 *  - start() needs a ring with the source's channel count and
 *    max_frames >= frames_per_block. The first block written after start()
 *    carries TW_BLOCK_RESTART when that ring had already received frames
 *    (the daemon's destroy + open + start after a failure), and
 *    TW_BLOCK_OVERFLOW marks each callback with paInputOverflow;
 *  - state() is TW_SRC_FAILED (err says why, one line) when the stream
 *    went inactive without stop() (PortAudio's ALSA host in callback mode
 *    shows a lost device only that way), when PortAudio reports a stream
 *    error, or when no frame has arrived for 2 s + 4 buffers while
 *    running (a stalled device: JACK gone, a suspended USB card). FAILED
 *    is final: destroy and open again (PortAudio 19.6 has no hot-plug, and
 *    only a new Pa_Initialize sees a device that came back);
 *  - stop() stops and closes the stream (idempotent); start() after stop()
 *    opens it again; destroy() stops, then calls Pa_Terminate once for the
 *    Pa_Initialize of open().
 */
#include <pa_linux_alsa.h>
#include <portaudio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pa_device.h"
#include "source.h"

/* Also used by `twitchd list-devices` (cmd_devices.c). */

#define CAPTURE_SLACK_S 0.1 /* s of input the device buffer holds, at least */
#define ALSA_PERIODS 16     /* periods of that buffer (ALSA host API) */
#define STALL_BASE_S 2.0   /* s without a frame before a stall is declared... */
#define STALL_BUFFERS 4.0  /* ...plus this many buffers */

static const PaSampleFormat pa_formats[] = {paFloat32, paInt16, paInt24, paInt32};
static const char *const format_names[] = {"float32", "int16", "int24", "int32"};
static const unsigned format_bytes[] = {4, 2, 3, 4};

const char *tw_pa_format_name(int format)
{
    return format >= 0 && format < 4 ? format_names[format] : "?";
}

typedef struct {
    tw_source base;         /* first */
    int pa_init;            /* Pa_Initialize succeeded: one Pa_Terminate owed */
    PaDeviceIndex dev;
    PaStreamParameters in;
    int format;             /* index into pa_formats */
    unsigned fpb;           /* frames per callback = per block */
    size_t frame_bytes;     /* bytes per input frame */
    PaStream *stream;
    tw_ring *ring;          /* written by the callback only */
    float *scratch;         /* fpb x channels, for integer formats */
    uint32_t first_flags;   /* flags for the first block after start */
    int running;            /* started and not stopped by us */
    int failed;
    uint64_t seen_frames;   /* stall watch: ring frames last seen by state() */
    struct timespec seen_at;
    double stall_s;
    long host_err_code;     /* Pa_GetLastHostErrorInfo at start() */
    char host_err_text[128];
    char why[256];          /* why it failed (state()), one line */
} pa_src;

/* ---- the callback (real-time: nothing that may block) ---- */

static void convert(const pa_src *p, const unsigned char *in, float *out, size_t n)
{
    switch (p->format) {
    case 1: { /* int16 */
        const int16_t *x = (const int16_t *)in;
        for (size_t i = 0; i < n; i++)
            out[i] = (float)x[i] * 0x1p-15f;
        break;
    }
    case 2: /* int24: packed 3-byte little-endian (PortAudio's paInt24) */
        for (size_t i = 0; i < n; i++, in += 3) {
            int32_t v = (int32_t)in[0] | (int32_t)in[1] << 8 | (int32_t)in[2] << 16;
            if (v & 0x800000)
                v -= 0x1000000;
            out[i] = (float)v * 0x1p-23f;
        }
        break;
    case 3: { /* int32 */
        const int32_t *x = (const int32_t *)in;
        for (size_t i = 0; i < n; i++)
            out[i] = (float)x[i] * 0x1p-31f;
        break;
    }
    default: /* float32: tw_ring_write copies it as it is */
        break;
    }
}

static int pa_callback(const void *input, void *output, unsigned long frames,
                       const PaStreamCallbackTimeInfo *ti,
                       PaStreamCallbackFlags status, void *user)
{
    pa_src *p = user;
    (void)output;
    uint32_t flags = p->first_flags;
    p->first_flags = 0;
    if (status & paInputOverflow)
        flags |= TW_BLOCK_OVERFLOW;
    double adc = ti ? ti->inputBufferAdcTime : 0.0;
    if (!input) { /* no input data: count the frames as lost */
        tw_ring_write(p->ring, NULL, 0, (int64_t)frames, flags, adc);
        return paContinue;
    }
    const unsigned char *in = input;
    unsigned ch = (unsigned)p->base.channels;
    for (unsigned long done = 0; done < frames;) {
        unsigned k = frames - done > p->fpb ? p->fpb : (unsigned)(frames - done);
        const unsigned char *src = in + done * p->frame_bytes;
        const float *x = (const float *)src;
        if (p->format != 0) {
            convert(p, src, p->scratch, (size_t)k * ch);
            x = p->scratch;
        }
        double t = adc != 0.0 ? adc + (double)done / p->base.rate : 0.0;
        tw_ring_write(p->ring, x, k, 0, flags, t);
        flags &= ~(uint32_t)TW_BLOCK_RESTART;
        done += k;
    }
    return paContinue;
}

/* ---- device selection (pa_device.c) ---- */

int tw_pa_find_device(const tw_config *c, char *err, size_t errlen)
{
    tw_pa_want w = {.want = c->device, .key = "input.device", .hostapi = c->hostapi,
                    .api_key = "input.hostapi", .output = 0};
    return tw_pa_find(&w, err, errlen);
}

/* ---- the source ---- */

/* The source has failed (state() found it): the reason, kept for every
 * later state(). */
static void set_failed(pa_src *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_failed(pa_src *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof p->why, fmt, ap);
    va_end(ap);
    p->failed = 1;
}

static int open_stream(pa_src *p, char *err, size_t errlen)
{
    PaAlsa_SetNumPeriods(ALSA_PERIODS); /* global: the monitor sets its own */
    PaError e = Pa_OpenStream(&p->stream, &p->in, NULL, p->base.rate, p->fpb,
                              paClipOff | paDitherOff, pa_callback, p);
    if (e != paNoError) {
        p->stream = NULL;
        snprintf(err, errlen, "%s: cannot open the stream: %s", p->base.desc,
                 Pa_GetErrorText(e));
        return -1;
    }
    return 0;
}

static void pa_stop(tw_source *s)
{
    pa_src *p = (pa_src *)s;
    p->running = 0;
    if (!p->stream)
        return;
    tw_pa_lock();
    if (Pa_IsStreamStopped(p->stream) == 0)
        Pa_StopStream(p->stream);
    Pa_CloseStream(p->stream);
    tw_pa_unlock();
    p->stream = NULL;
}

static int start_locked(tw_source *s, tw_ring *r, char *err, size_t errlen);

static int pa_start(tw_source *s, tw_ring *r, char *err, size_t errlen)
{
    tw_pa_lock(); /* pa_device.h: the monitor may open its stream meanwhile */
    int rc = start_locked(s, r, err, errlen);
    tw_pa_unlock();
    return rc;
}

static int start_locked(tw_source *s, tw_ring *r, char *err, size_t errlen)
{
    pa_src *p = (pa_src *)s;
    if (p->failed) {
        snprintf(err, errlen, "%s: the source failed; destroy and open it again", p->base.desc);
        return -1;
    }
    if (p->running) {
        snprintf(err, errlen, "%s: already started", p->base.desc);
        return -1;
    }
    if (!r || tw_ring_get_channels(r) != (unsigned)p->base.channels ||
        tw_ring_get_max_frames(r) < p->fpb) {
        snprintf(err, errlen, "ring does not fit the source (%u ch and %u frames needed)",
                 (unsigned)p->base.channels, p->fpb);
        return -1;
    }
    if (!p->stream && open_stream(p, err, errlen) != 0)
        return -1;
    p->ring = r;
    p->seen_frames = tw_ring_get_written_frames(r) + tw_ring_get_dropped_frames(r);
    p->first_flags = p->seen_frames > 0 ? TW_BLOCK_RESTART : 0;
    clock_gettime(CLOCK_MONOTONIC, &p->seen_at);
    const PaHostErrorInfo *he = Pa_GetLastHostErrorInfo();
    p->host_err_code = he ? he->errorCode : 0;
    snprintf(p->host_err_text, sizeof p->host_err_text, "%s",
             he && he->errorText ? he->errorText : "");
    PaError e = Pa_StartStream(p->stream); /* the callback runs from here on */
    if (e != paNoError) {
        snprintf(err, errlen, "%s: cannot start the stream: %s", p->base.desc,
                 Pa_GetErrorText(e));
        Pa_CloseStream(p->stream);
        p->stream = NULL;
        return -1;
    }
    p->running = 1;
    return 0;
}

/* FAILED once the stream is seen to have failed (p->why says why). */
static tw_source_state check_stream(pa_src *p)
{
    if (p->failed)
        return TW_SRC_FAILED;
    if (!p->running || !p->stream)
        return TW_SRC_RUNNING;
    PaError a = Pa_IsStreamActive(p->stream);
    if (a < 0) {
        set_failed(p, "%s: stream error: %s", p->base.desc, Pa_GetErrorText(a));
    } else if (a == 0) {
        /* PortAudio keeps the last host error globally: name it only when
         * it is new since start() */
        const PaHostErrorInfo *he = Pa_GetLastHostErrorInfo();
        if (he && he->errorCode != 0 && he->errorText && he->errorText[0] &&
            (he->errorCode != p->host_err_code || strcmp(he->errorText, p->host_err_text) != 0))
            set_failed(p, "%s: the stream stopped by itself (device lost?): host error %ld: %s",
                       p->base.desc, he->errorCode, he->errorText);
        else
            set_failed(p, "%s: the stream stopped by itself (device lost?)", p->base.desc);
    } else {
        uint64_t f = tw_ring_get_written_frames(p->ring) + tw_ring_get_dropped_frames(p->ring);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (f != p->seen_frames) {
            p->seen_frames = f;
            p->seen_at = now;
        } else {
            double idle = (double)(now.tv_sec - p->seen_at.tv_sec) +
                          (now.tv_nsec - p->seen_at.tv_nsec) * 1e-9;
            if (idle > p->stall_s)
                set_failed(p, "%s: no input for %.1f s (device stalled)", p->base.desc, idle);
        }
    }
    return p->failed ? TW_SRC_FAILED : TW_SRC_RUNNING;
}

static tw_source_state pa_state(tw_source *s, char *err, size_t errlen)
{
    pa_src *p = (pa_src *)s;
    tw_source_state st = check_stream(p);
    if (st == TW_SRC_FAILED)
        snprintf(err, errlen, "%s", p->why);
    return st;
}

static void pa_destroy(tw_source *s)
{
    pa_src *p = (pa_src *)s;
    pa_stop(s);
    if (p->pa_init) {
        tw_pa_lock();
        Pa_Terminate();
        tw_pa_unlock();
    }
    free(p->scratch);
    free(p);
}

static const struct tw_source_ops pa_ops = {pa_start, pa_stop, pa_state, pa_destroy};

static tw_source *open_locked(const tw_config *c, char *err, size_t errlen);

tw_source *tw_source_open_portaudio(const tw_config *c, char *err, size_t errlen)
{
    tw_pa_lock(); /* pa_device.h */
    tw_source *s = open_locked(c, err, errlen);
    tw_pa_unlock();
    return s;
}

static tw_source *open_locked(const tw_config *c, char *err, size_t errlen)
{
    if (c->format < 0 || c->format > 3 || c->channels < 1 || c->rate < 1 ||
        c->frames_per_buffer < 1) {
        snprintf(err, errlen, "input.format/channels/rate/frames_per_buffer out of range");
        return NULL;
    }
    pa_src *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->base.ops = &pa_ops;
    p->base.rate = c->rate;
    p->base.channels = c->channels;
    p->base.frames_per_block = (unsigned)c->frames_per_buffer;
    p->fpb = (unsigned)c->frames_per_buffer;
    p->format = c->format;
    p->frame_bytes = (size_t)format_bytes[c->format] * (size_t)c->channels;
    p->stall_s = STALL_BASE_S + STALL_BUFFERS * p->fpb / (double)c->rate;
    if (c->format != 0) {
        p->scratch = calloc((size_t)p->fpb * (size_t)c->channels, sizeof *p->scratch);
        if (!p->scratch) {
            snprintf(err, errlen, "out of memory");
            free(p);
            return NULL;
        }
    }
    PaError e = Pa_Initialize();
    if (e != paNoError) {
        snprintf(err, errlen, "PortAudio: cannot initialise: %s", Pa_GetErrorText(e));
        pa_destroy(&p->base);
        return NULL;
    }
    p->pa_init = 1;
    char why[256];
    p->dev = tw_pa_find_device(c, why, sizeof why);
    if (p->dev < 0) {
        snprintf(err, errlen, "%s", why);
        pa_destroy(&p->base);
        return NULL;
    }
    const PaDeviceInfo *d = Pa_GetDeviceInfo(p->dev);
    snprintf(p->base.desc, sizeof p->base.desc, "%s: %s (index %d), %d Hz, %d ch, %s",
             tw_pa_api_name(d), d->name, p->dev, c->rate, c->channels, format_names[c->format]);
    if (d->maxInputChannels < c->channels) {
        snprintf(err, errlen, "device %d '%s' (%s) has %d input channel%s; input.channels is %d",
                 p->dev, d->name, tw_pa_api_name(d), d->maxInputChannels,
                 d->maxInputChannels == 1 ? "" : "s", c->channels);
        pa_destroy(&p->base);
        return NULL;
    }
    p->in.device = p->dev;
    p->in.channelCount = c->channels;
    p->in.sampleFormat = pa_formats[c->format];
    /* At least CAPTURE_SLACK_S of buffer, cut into ALSA_PERIODS periods.
     * PortAudio's "high" default buffer is only about 2048 frames (21 ms at
     * 96 kHz), which a busy 2-core machine overran ~12 times a minute at
     * 96 kHz (tests/soak/live96k.sh). With ALSA a larger capture buffer
     * adds no latency (each period is handed on as soon as it is
     * complete), and with 16 periods they are no longer than PortAudio's
     * default ones (e.g. 1024 frames at 96 kHz, 512 at 48 kHz). */
    p->in.suggestedLatency = d->defaultHighInputLatency > CAPTURE_SLACK_S
                                 ? d->defaultHighInputLatency : CAPTURE_SLACK_S;
    PaAlsa_SetNumPeriods(ALSA_PERIODS);
    p->in.hostApiSpecificStreamInfo = NULL;
    /* Pa_OpenStream checks what Pa_IsFormatSupported would (same error
     * codes: paInvalidSampleRate, paInvalidChannelCount,
     * paSampleFormatNotSupported) with the real buffer size. Not
     * Pa_IsFormatSupported: on ALSA it runs snd_pcm_hw_params with the
     * largest buffer the device allows, gigabytes on the test plugins. */
    e = Pa_OpenStream(&p->stream, &p->in, NULL, p->base.rate, p->fpb,
                      paClipOff | paDitherOff, pa_callback, p);
    if (e != paNoError) {
        p->stream = NULL;
        snprintf(err, errlen, "device %d '%s' (%s) cannot capture %d Hz, %d ch, %s: %s",
                 p->dev, d->name, tw_pa_api_name(d), c->rate, c->channels, format_names[c->format],
                 Pa_GetErrorText(e));
        pa_destroy(&p->base);
        return NULL;
    }
    return &p->base;
}
