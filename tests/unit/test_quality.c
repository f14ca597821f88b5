/* test_quality.c: the signal-quality state of a channel (daemon/engine/quality.h).
 *
 * What is asserted (blocks of 100 samples, hold 1000 samples):
 *  - a condition seen in a block starts a state at the block's FIRST
 *    sample (it was seen somewhere in it) and holds until 1000 samples
 *    after the end of the last block it was seen in, where the state
 *    changes at that block's end;
 *  - a second condition while one is in force starts a new state (the
 *    first stretch is remembered), one that runs out ends its state;
 *  - tw_quality_overlap gives the conditions of every bad stretch an
 *    inclusive span overlaps (ended or in force), 0 for a clean span,
 *    nothing for a span that ends just before a stretch or starts at its
 *    (exclusive) stop; past TW_QUALITY_KEEP stretches the oldest are
 *    forgotten;
 *  - tw_quality_text and tw_quality_json name every condition ("signal
 *    low" too) and say ok for none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "quality.h"

static void test_states(void **state)
{
    (void)state;
    tw_quality q;
    tw_quality_init(&q);
    assert_int_equal(tw_quality_update(&q, 0, 0, 100, 1000), 0);
    /* clipping in the block 1000 .. 1099 */
    assert_int_equal(tw_quality_update(&q, TW_Q_CLIPPING, 1000, 1100, 1000), 1);
    assert_int_equal(q.flags, TW_Q_CLIPPING);
    assert_int_equal(q.since, 1000);
    assert_int_equal(tw_quality_update(&q, 0, 1100, 1200, 1000), 0);
    /* flat too in 1500 .. 1599 */
    assert_int_equal(tw_quality_update(&q, TW_Q_FLAT, 1500, 1600, 1000), 1);
    assert_int_equal(q.flags, TW_Q_CLIPPING | TW_Q_FLAT);
    assert_int_equal(q.since, 1500);
    /* clipping runs out at 1100 + 1000: the block ending at 2100 */
    assert_int_equal(tw_quality_update(&q, 0, 2000, 2100, 1000), 1);
    assert_int_equal(q.flags, TW_Q_FLAT);
    assert_int_equal(q.since, 2100);
    assert_int_equal(tw_quality_update(&q, 0, 2500, 2600, 1000), 1);
    assert_int_equal(q.flags, 0);
    assert_int_equal(q.since, 2600);
    assert_int_equal(q.past_n, 3);

    assert_int_equal(tw_quality_overlap(&q, 0, 999), 0);
    assert_int_equal(tw_quality_overlap(&q, 900, 1000), TW_Q_CLIPPING);
    assert_int_equal(tw_quality_overlap(&q, 1200, 1499), TW_Q_CLIPPING);
    assert_int_equal(tw_quality_overlap(&q, 1400, 1500), TW_Q_CLIPPING | TW_Q_FLAT);
    assert_int_equal(tw_quality_overlap(&q, 2100, 2599), TW_Q_FLAT);
    assert_int_equal(tw_quality_overlap(&q, 2600, 9000), 0);
    /* a state in force: every span reaching it */
    assert_int_equal(tw_quality_update(&q, TW_Q_LOW, 5000, 5100, 1000), 1);
    assert_int_equal(tw_quality_overlap(&q, 4000, 4999), 0);
    assert_int_equal(tw_quality_overlap(&q, 4000, 5000), TW_Q_LOW);
    assert_int_equal(tw_quality_overlap(&q, 6000, 7000), TW_Q_LOW);
}

static void test_forgets_oldest(void **state)
{
    (void)state;
    tw_quality q;
    tw_quality_init(&q);
    int64_t t = 0;
    for (int k = 0; k < TW_QUALITY_KEEP + 1; k++) {
        tw_quality_update(&q, TW_Q_NONFINITE, t, t + 10, 10);
        tw_quality_update(&q, 0, t + 100, t + 110, 10);
        t += 1000;
    }
    assert_int_equal(q.past_n, TW_QUALITY_KEEP + 1);
    assert_int_equal(tw_quality_overlap(&q, 0, 50), 0); /* the first: forgotten */
    assert_int_equal(tw_quality_overlap(&q, 1000, 1050), TW_Q_NONFINITE);
    assert_int_equal(tw_quality_overlap(&q, t - 1000, t - 1000), TW_Q_NONFINITE);
}

static void test_names(void **state)
{
    (void)state;
    char b[128];
    assert_string_equal(tw_quality_text(0, b, sizeof b), "ok");
    assert_string_equal(tw_quality_text(TW_Q_FLAT | TW_Q_LOW, b, sizeof b), "flat, signal low");
    assert_string_equal(tw_quality_text((1u << TW_Q_NBITS) - 1, b, sizeof b),
                        "flat, clipping, non-finite, mains unlocked, noise high, signal low");
    json_t *j = tw_quality_json(TW_Q_NOISE);
    assert_string_equal(json_string_value(json_array_get(j, 0)), "noise high");
    json_decref(j);
    j = tw_quality_json(0);
    assert_string_equal(json_string_value(json_array_get(j, 0)), "ok");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_forgets_oldest),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
