/* test_rec_outage.c: the recording's outage state machine
 * (daemon/record/rec_outage.h), driven as recorder.c drives it.
 *
 * What is asserted:
 *  - reset: no outage, nothing lost, no error, a retry due at once;
 *  - a first failure begins an outage (BEGUN), counts one error, keeps
 *    the message and makes the next attempt due TW_REC_RETRY_S later
 *    (not due just before, due at that time);
 *  - further failures: the same cause (the text after the last ':',
 *    without a trailing " (...)") says SAME_CAUSE, another cause
 *    NEW_CAUSE, neither counts another error; each moves the retry on;
 *  - the samples lost so far: while no file is tried, up to the engine's
 *    next sample; while one is tried, up to its first sample;
 *  - resumption: the samples from the end of the last file kept to the
 *    new file's first sample are lost (returned and added), the outage
 *    and its error end; a later file that fails after keeping records
 *    moves the end to them, and a second outage counts a second error;
 *  - finish during an outage loses the samples up to the stop, finish
 *    without one loses nothing; a resumption before the end of the last
 *    file kept (the new file's first sample not after it) loses nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "rec_outage.h"

#define RATE 48000 /* Hz: samples below are whole seconds of it */

static void test_reset(void **state)
{
    (void)state;
    tw_rec_outage o;
    memset(&o, 0x5a, sizeof o);
    tw_rec_outage_reset(&o, 7 * RATE);
    assert_int_equal(o.active, 0);
    assert_int_equal(o.errors, 0);
    assert_int_equal(o.lost, 0);
    assert_int_equal(o.end, 7 * RATE);
    assert_int_equal(o.seg_first, 7 * RATE);
    assert_string_equal(o.error, "");
    assert_true(tw_rec_outage_retry_due(&o, 0.0));
    assert_int_equal(tw_rec_outage_lost_now(&o, 0, 9 * RATE), 0);
}

static void test_outage_and_resume(void **state)
{
    (void)state;
    tw_rec_outage o;
    tw_rec_outage_reset(&o, 0);
    tw_rec_outage_opened(&o, 0);
    /* the first file fails after 10 s on disk, at t = 100 s */
    tw_rec_outage_kept_to(&o, 10 * RATE);
    assert_int_equal(tw_rec_outage_failed(&o, "write /r/a.bdf: No space left on device (10 s recorded)",
                                          100.0),
                     TW_OUTAGE_BEGUN);
    assert_int_equal(o.active, 1);
    assert_int_equal(o.errors, 1);
    assert_string_equal(o.error, "write /r/a.bdf: No space left on device (10 s recorded)");
    assert_false(tw_rec_outage_retry_due(&o, 100.0 + TW_REC_RETRY_S - 0.01));
    assert_true(tw_rec_outage_retry_due(&o, 100.0 + TW_REC_RETRY_S));
    /* no file tried yet: lost up to the engine's next sample */
    assert_int_equal(tw_rec_outage_lost_now(&o, 0, 12 * RATE), 2 * RATE);

    /* attempts on new files fail the same way, then another way */
    assert_int_equal(tw_rec_outage_failed(&o, "open /r/a-2.bdf: No space left on device", 102.0),
                     TW_OUTAGE_SAME_CAUSE);
    assert_int_equal(tw_rec_outage_failed(&o, "open /r/a-3.bdf: Input/output error", 104.0),
                     TW_OUTAGE_NEW_CAUSE);
    assert_int_equal(o.errors, 1);
    assert_string_equal(o.error, "open /r/a-3.bdf: Input/output error");
    assert_false(tw_rec_outage_retry_due(&o, 105.0));
    assert_true(tw_rec_outage_retry_due(&o, 106.0));

    /* a file opened at 15 s is being tried: lost up to its first sample */
    tw_rec_outage_opened(&o, 15 * RATE);
    assert_int_equal(tw_rec_outage_lost_now(&o, 1, 16 * RATE), 5 * RATE);
    /* its first record is on disk: the outage ends, 5 s lost */
    assert_int_equal(tw_rec_outage_resumed(&o), 5 * RATE);
    assert_int_equal(o.active, 0);
    assert_string_equal(o.error, "");
    assert_int_equal(o.lost, 5 * RATE);
    assert_int_equal(tw_rec_outage_lost_now(&o, 1, 30 * RATE), 5 * RATE);

    /* that file fails after keeping 20 s; the outage lasts to the end */
    tw_rec_outage_kept_to(&o, 35 * RATE);
    assert_int_equal(tw_rec_outage_failed(&o, "write /r/a-4.bdf: File too large", 200.0),
                     TW_OUTAGE_BEGUN);
    assert_int_equal(o.errors, 2);
    tw_rec_outage_finish(&o, 40 * RATE);
    assert_int_equal(o.lost, 10 * RATE);
    assert_int_equal(o.active, 1); /* the summary says it ended in error */
}

static void test_no_loss(void **state)
{
    (void)state;
    tw_rec_outage o;
    tw_rec_outage_reset(&o, 3 * RATE);
    tw_rec_outage_opened(&o, 3 * RATE);
    tw_rec_outage_finish(&o, 60 * RATE); /* no outage: nothing lost */
    assert_int_equal(o.lost, 0);
    /* a file that failed at once (nothing kept), retried at the same
     * sample: nothing lost */
    tw_rec_outage_reset(&o, 3 * RATE);
    assert_int_equal(tw_rec_outage_failed(&o, "open: x", 1.0), TW_OUTAGE_BEGUN);
    tw_rec_outage_opened(&o, 3 * RATE);
    assert_int_equal(tw_rec_outage_resumed(&o), 0);
    /* the new file starting before the end of the kept one loses nothing */
    tw_rec_outage_kept_to(&o, 9 * RATE);
    tw_rec_outage_failed(&o, "write: y", 2.0);
    tw_rec_outage_opened(&o, 8 * RATE);
    assert_int_equal(tw_rec_outage_lost_now(&o, 1, 10 * RATE), 0);
    assert_int_equal(tw_rec_outage_resumed(&o), 0);
    assert_int_equal(o.lost, 0);
    assert_int_equal(o.errors, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_outage_and_resume),
        cmocka_unit_test(test_no_loss),
    };
    return cmocka_run_group_tests_name("rec_outage", tests, NULL, NULL);
}
