/* enodev_shim.c: LD_PRELOAD shim simulating a sound card that disappears
 * (docs/testing-without-hardware.md, "A device that disappears").
 *
 * Not part of the build: tests/unit/test_portaudio.c compiles it at run
 * time (cc -shared -fPIC -o enodev_shim.so enodev_shim.c -ldl) and runs a
 * child of itself with LD_PRELOAD pointing at it.
 *
 * snd_pcm_avail_update (which libportaudio imports directly from
 * libasound) behaves normally until TW_SHIM_AFTER_MS milliseconds after
 * its first call on a capture stream; from then on, for capture streams:
 *   TW_SHIM_MODE=enodev (default): returns -ENODEV, as for an unplugged
 *                                  USB card;
 *   TW_SHIM_MODE=stall:            returns 0 (no frames ever become
 *                                  available: a device that stalls).
 * Playback streams are never touched.
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

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

snd_pcm_sframes_t snd_pcm_avail_update(snd_pcm_t *pcm)
{
    static _Atomic(avail_fn) real;
    static _Atomic double t0 = -1.0;
    avail_fn f = atomic_load(&real);
    if (!f) {
        f = (avail_fn)dlsym(RTLD_NEXT, "snd_pcm_avail_update");
        if (!f)
            return -ENOSYS;
        atomic_store(&real, f);
    }
    if (snd_pcm_stream(pcm) != SND_PCM_STREAM_CAPTURE)
        return f(pcm);
    double now = now_ms(), start = atomic_load(&t0);
    if (start < 0.0) {
        double expect = -1.0;
        atomic_compare_exchange_strong(&t0, &expect, now);
        start = atomic_load(&t0);
    }
    const char *ms = getenv("TW_SHIM_AFTER_MS");
    double after = ms && *ms ? atof(ms) : 200.0;
    if (now - start < after)
        return f(pcm);
    const char *mode = getenv("TW_SHIM_MODE");
    if (mode && strcmp(mode, "stall") == 0)
        return 0;
    return -ENODEV;
}
