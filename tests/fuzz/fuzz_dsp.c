/* fuzz_dsp.c: the whole per-channel pipeline (dsp/channel.h) under what
 * sound cards and drivers really deliver: NaN, +-Inf, denormals, huge
 * values, digital silence, full-scale DC, steps, cut into blocks of any
 * size.
 *
 * The input drives everything. Byte 0 picks the rate (250 Hz .. 192 kHz)
 * and the electrode; then a program of (op, length, value) steps, each
 * appending samples to the signal: noise (a xorshift from the value),
 * a constant (silence, DC, saturation), a raw float32 pattern taken from
 * the input (NaN and Inf payloads, denormals, 3e38 included), a step, a
 * sine at the value's frequency, or a change of block size. At most
 * MAX_SAMPLES samples. Invariants (abort() when broken):
 *   - execute_block returns TW_OK with an event array sized by
 *     tw_channel_max_events, never more events than that;
 *   - every event has onset <= offset, both within the samples fed, and
 *     finite amplitudes;
 *   - the noise floor and the mains frequency stay finite;
 *   - the sample count is the input's, and non-finite samples fed are
 *     counted exactly (NaN, +-Inf, |x| > 1e8).
 * Run under ASan and UBSan (make fuzz), and replayed by make test on the
 * seed corpus and every kept crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "fuzz_util.h"

#define MAX_SAMPLES 200000 /* samples fed per input */
#define MAX_BLOCK 4096     /* largest block */

static const double rates[] = {250, 1000, 4000, 8000, 22050, 44100, 48000, 96000, 192000};

static float take_float(const uint8_t **p, const uint8_t *end)
{
    float v = 0.0f;
    if (end - *p >= 4) {
        memcpy(&v, *p, 4);
        *p += 4;
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1, *end = data + size;
    double fs = rates[data[0] % (sizeof rates / sizeof rates[0])];
    tw_electrode el = (data[0] >> 4) & 1 ? TW_ELECTRODE_SURFACE : TW_ELECTRODE_NEEDLE;
    tw_channel_params cp;
    tw_channel_params_default(&cp, fs, el);
    tw_channel *q = tw_channel_create(&cp, NULL);
    FZ_CHECK(q != NULL, "create failed at %g Hz", fs);
    size_t cap = tw_channel_max_events(q, MAX_BLOCK);
    tw_event *ev = malloc(cap * sizeof *ev);
    float *x = malloc(MAX_BLOCK * sizeof *x);
    FZ_CHECK(ev && x, "out of memory");
    int64_t fed = 0;
    uint64_t bad = 0;
    size_t block = 512;
    uint32_t rnd = 2463534242u;
    while (p < end && fed < MAX_SAMPLES) {
        uint8_t op = *p++;
        size_t len = (size_t)(end - p >= 2 ? (p[0] | p[1] << 8) : 1) % MAX_BLOCK + 1;
        p += end - p >= 2 ? 2 : end - p;
        float v = take_float(&p, end);
        if (op % 7 == 6) { /* a new block size */
            block = len;
            continue;
        }
        if ((int64_t)len > MAX_SAMPLES - fed)
            len = (size_t)(MAX_SAMPLES - fed);
        for (size_t i = 0; i < len; i++) {
            float s;
            switch (op % 7) {
            case 0: /* noise of amplitude |v| (finite or not) */
                rnd ^= rnd << 13;
                rnd ^= rnd >> 17;
                rnd ^= rnd << 5;
                s = v * ((float)(rnd & 0xffff) / 32768.0f - 1.0f);
                break;
            case 1: /* a constant: silence, DC, saturation */
                s = v;
                break;
            case 2: /* raw floats from the input */
                s = take_float(&p, end);
                break;
            case 3: /* a step at the middle */
                s = i < len / 2 ? 0.0f : v;
                break;
            case 4: /* a sine of |v| Hz, 100 uV */
                s = 100.0f * (float)sin(2.0 * M_PI * fmod(fabs((double)v), fs / 2) * (double)i / fs);
                break;
            default: /* a lone value among zeros */
                s = i == len / 2 ? v : 0.0f;
                break;
            }
            if (!isfinite(s) || fabsf(s) > 1e8f)
                bad++;
            x[i] = s;
        }
        for (size_t o = 0; o < len; o += block) {
            size_t m = len - o < block ? len - o : block, nev = 0;
            int rc = tw_channel_execute_block(q, x + o, m, ev, cap, &nev);
            FZ_CHECK(rc == TW_OK, "execute_block returned %d", rc);
            FZ_CHECK(nev <= cap, "%zu events for a capacity of %zu", nev, cap);
            int64_t now = fed + (int64_t)(o + m);
            for (size_t k = 0; k < nev; k++) {
                const tw_event *e = &ev[k];
                FZ_CHECK(e->onset_sample >= 0 && e->onset_sample <= e->offset_sample &&
                             e->offset_sample < now,
                         "event %lld-%lld after %lld samples", (long long)e->onset_sample,
                         (long long)e->offset_sample, (long long)now);
                FZ_CHECK(isfinite(e->peak_uv) && isfinite(e->p2p_uv) && isfinite(e->rms_uv),
                         "event amplitudes %g %g %g", e->peak_uv, e->p2p_uv, e->rms_uv);
            }
            FZ_CHECK(isfinite(tw_channel_get_noise_uv(q)), "noise floor %g",
                     tw_channel_get_noise_uv(q));
            FZ_CHECK(isfinite(tw_channel_get_mains_hz(q)), "mains %g", tw_channel_get_mains_hz(q));
        }
        fed += (int64_t)len;
    }
    size_t nev = 0;
    FZ_CHECK(tw_channel_flush(q, ev, cap, &nev) == TW_OK, "flush");
    FZ_CHECK(tw_channel_get_samples(q) == fed, "samples %lld, fed %lld",
             (long long)tw_channel_get_samples(q), (long long)fed);
    FZ_CHECK(tw_channel_get_nonfinite(q) == bad, "non-finite counted %llu, fed %llu",
             (unsigned long long)tw_channel_get_nonfinite(q), (unsigned long long)bad);
    free(ev);
    free(x);
    tw_channel_destroy(q);
    return 0;
}
