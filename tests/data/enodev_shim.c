/* enodev_shim.c: LD_PRELOAD shim simulating a sound card that disappears
 * (docs/testing-without-hardware.md, "A device that disappears").
 *
 * Not part of the build: tests/unit/test_portaudio.c compiles it at run
 * time (cc -shared -fPIC -o enodev_shim.so enodev_shim.c -lasound -ldl)
 * and runs a child of itself with LD_PRELOAD pointing at it. Linked with
 * libasound, so that libasound is in the global scope (RTLD_NEXT finds
 * snd_pcm_avail_update) before twitchd loads PortAudio with dlopen.
 *
 * snd_pcm_avail_update (which libportaudio imports directly from
 * libasound) behaves normally until TW_SHIM_AFTER_MS milliseconds after
 * its first call on a capture stream; from then on, for capture streams:
 *   TW_SHIM_MODE=enodev (default): returns -ENODEV, as for an unplugged
 *                                  USB card;
 *   TW_SHIM_MODE=stall:            returns 0 (no frames ever become
 *                                  available: a device that stalls);
 * and, when TW_SHIM_BACK_MS is set, normally again from that many
 * milliseconds after the first call on (the device came back: a stream
 * opened from then on works). Playback streams are never touched.
 */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef snd_pcm_sframes_t (*avail_fn)(snd_pcm_t *);

static avail_fn real_avail;
static double after_ms = 200.0, back_ms = -1.0; /* -1: never back */
static int stall;
static _Atomic double t0 = -1.0; /* first capture call, ms */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* The environment is read once, before any thread exists. */
__attribute__((constructor)) static void shim_init(void)
{
    real_avail = (avail_fn)dlsym(RTLD_NEXT, "snd_pcm_avail_update");
    const char *e = getenv("TW_SHIM_AFTER_MS");
    if (e && *e)
        after_ms = atof(e);
    e = getenv("TW_SHIM_BACK_MS");
    if (e && *e)
        back_ms = atof(e);
    e = getenv("TW_SHIM_MODE");
    stall = e && strcmp(e, "stall") == 0;
}

snd_pcm_sframes_t snd_pcm_avail_update(snd_pcm_t *pcm)
{
    if (!real_avail)
        return -ENOSYS;
    if (snd_pcm_stream(pcm) != SND_PCM_STREAM_CAPTURE)
        return real_avail(pcm);
    double now = now_ms(), start = atomic_load(&t0);
    if (start < 0.0) {
        double expect = -1.0;
        atomic_compare_exchange_strong(&t0, &expect, now);
        start = atomic_load(&t0);
    }
    double t = now - start;
    if (t < after_ms || (back_ms >= 0.0 && t >= back_ms))
        return real_avail(pcm);
    return stall ? 0 : -ENODEV;
}
