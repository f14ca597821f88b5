/* test_wire_sig.c: the sig.* headers of the display stream
 * (daemon/out/wire.h, tw_wire_sig), which wire.c composes around the
 * clock's and the rate's text written by jansson.
 *
 * What is asserted: over changing clock anchors (reals with and without a
 * fraction, large and small), sample indices, counts and both display
 * rates, on three channels interleaved, every header is byte for byte the
 * header built anew with jansson in the protocol's field order
 * (docs/protocol.md: v, topic, stream, seq, sample, clock {sample,
 * realtime, monotonic}, channel, rate, count, decim, unit, scale_uv,
 * format) and the same dump flags; seq counts per channel from 0; the
 * payload is the values given; the message is not marked for the journal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static char *expected(const tw_wire *w, int ch, uint64_t seq, int64_t first, double rate,
                      size_t n)
{
    char topic[16];
    snprintf(topic, sizeof topic, "sig.%d", ch);
    json_t *o = json_object();
    json_object_set_new(o, "v", json_integer(TW_PROTOCOL_VERSION));
    json_object_set_new(o, "topic", json_string(topic));
    json_object_set_new(o, "stream", json_string(w->stream));
    json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    json_object_set_new(o, "sample", json_integer(first));
    json_t *c = json_object();
    json_object_set_new(c, "sample", json_integer(w->anchor_sample));
    json_object_set_new(c, "realtime", json_real((double)w->anchor_real.tv_sec +
                                                 (double)w->anchor_real.tv_nsec * 1e-9));
    json_object_set_new(c, "monotonic", json_real((double)w->anchor_mono.tv_sec +
                                                  (double)w->anchor_mono.tv_nsec * 1e-9));
    json_object_set_new(o, "clock", c);
    json_object_set_new(o, "channel", json_integer(ch));
    json_object_set_new(o, "rate", json_real(rate));
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    json_object_set_new(o, "decim", json_integer((json_int_t)llround(w->rate / rate)));
    json_object_set_new(o, "unit", json_string("uV"));
    json_object_set_new(o, "scale_uv", json_real(1.0));
    json_object_set_new(o, "format", json_string("float32le"));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    return s;
}

static void test_sig_headers(void **state)
{
    (void)state;
    tw_wire w;
    tw_wire_init(&w, 48000.0, 3);
    const struct timespec monos[] = {{40666, 740012371}, {12, 0}, {1, 500000000}, {987654, 1}};
    const struct timespec reals[] = {{1796681882, 439130000}, {1796681883, 0},
                                     {1700000000, 999999999}, {5, 250000000}};
    const double rates[] = {1000.0, 480.0};
    float v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (float)i * 0.5f - 7.25f;
    uint64_t seq[3] = {0, 0, 0};
    int64_t first = 0;
    for (int k = 0; k < 40; k++) {
        tw_wire_anchor(&w, 2304 * k, &monos[k % 4], &reals[(k / 2) % 4]);
        for (int j = 0; j < 3; j++) {
            int ch = (k + j) % 3;
            size_t n = (size_t)(50 - (k % 7));
            double rate = rates[(k / 10) % 2];
            tw_msg *m = tw_wire_sig(&w, ch, first, rate, v, n);
            assert_non_null(m);
            char *want = expected(&w, ch, seq[ch]++, first, rate, n);
            assert_non_null(want);
            assert_string_equal(m->header, want);
            char topic[16];
            snprintf(topic, sizeof topic, "sig.%d", ch);
            assert_string_equal(m->topic, topic);
            assert_int_equal(m->payload_len, n * sizeof(float));
            assert_memory_equal(m->payload, v, n * sizeof(float));
            assert_int_equal(m->journal, 0);
            free(want);
            tw_msg_free(m);
        }
        first += 2400;
    }
}

/* Many anchors from a fixed generator (seconds from 0 to 2^33 and
 * nanoseconds of every size, so %.15g gives exponents, trailing zeros
 * and whole numbers), display rates that are not whole numbers, one
 * message per anchor or several. */
static void test_sig_headers_many(void **state)
{
    (void)state;
    tw_wire w;
    tw_wire_init(&w, 44100.0, 8);
    uint64_t x = 20261207u, seq[8] = {0};
    float v[4] = {1.0f, -2.5f, 3.25f, 0.0f};
    const double rates[] = {1000.0, 44100.0 / 7.0, 2205.0, 44100.0 / 3.0, 0.5};
    for (int k = 0; k < 3000; k++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        struct timespec mono = {(time_t)((x >> 11) % (1ull << (x % 34))), (long)((x >> 7) % 1000000000u)};
        x = x * 6364136223846793005u + 1442695040888963407u;
        struct timespec real = {(time_t)((x >> 13) % 4000000000u), (long)((x >> 5) % 1000000000u)};
        if (k % 5 == 0)
            mono.tv_nsec = 0;
        if (k % 7 == 0)
            real.tv_nsec = (long)((x >> 3) % 10) * 100000000;
        tw_wire_anchor(&w, (int64_t)(x >> 20), &mono, &real);
        for (int j = 0; j <= k % 3; j++) {
            int ch = (int)((x >> (8 + j)) % 8);
            double rate = rates[(k + j) % 5];
            tw_msg *m = tw_wire_sig(&w, ch, (int64_t)k * 1000 - 7, rate, v, 4);
            assert_non_null(m);
            char *want = expected(&w, ch, seq[ch]++, (int64_t)k * 1000 - 7, rate, 4);
            assert_non_null(want);
            assert_string_equal(m->header, want);
            free(want);
            tw_msg_free(m);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sig_headers),
        cmocka_unit_test(test_sig_headers_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
