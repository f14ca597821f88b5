/* test_session_span.c: the samples an open session owns and when its stop
 * is final (daemon/session/session_span.h).
 *
 * What is asserted:
 *  - the hold time from the default configuration is the longer of the
 *    EPN (release + window) and LTR (longest burst + hang + post +
 *    envelope) decision delays plus TW_STOP_MARGIN_MS, and follows a
 *    longer EPN release;
 *  - an open session includes every sample and ends at `next`; after a
 *    stop at sample S it includes samples before S only, ends at S, and
 *    is due once ceil(hold x rate) samples past S are processed, or when
 *    the wall time passes 1.5 x hold, not before either;
 *  - ownership of final events: an LTR from its onset on (an LTR that
 *    began before the start is not the session's), an EPN episode that
 *    reaches into the session (ending at or after its start) is; an event
 *    that begins at or after the stop is not, one that began before it
 *    is, though final later;
 *  - opening again clears a pending stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "config.h"
#include "session_span.h"

#define RATE 48000.0 /* Hz */

static tw_event ev(int type, int64_t onset, int64_t offset)
{
    tw_event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.onset_sample = onset;
    e.offset_sample = offset;
    return e;
}

static void test_hold(void **state)
{
    (void)state;
    static tw_config c;
    tw_config_defaults(&c);
    double epn_ms = c.det.epn.release_ms + c.det.epn.win_bins * c.det.epn.bin_ms;
    double ltr_ms = c.det.ltr.max_ms + c.det.ltr.hang_ms + c.det.ltr.post_ms + c.det.ltr.env_ms;
    double want = ((epn_ms > ltr_ms ? epn_ms : ltr_ms) + TW_STOP_MARGIN_MS) * 1e-3;
    assert_true(fabs(tw_session_span_hold_s(&c) - want) < 1e-12);
    assert_true(want > TW_STOP_MARGIN_MS * 1e-3);
    c.det.epn.release_ms = 10000.0; /* 10 s: the EPN delay rules */
    assert_true(tw_session_span_hold_s(&c) >= 10.0 + TW_STOP_MARGIN_MS * 1e-3);
}

static void test_stop_timing(void **state)
{
    (void)state;
    tw_session_span s;
    tw_session_span_open(&s, 1000);
    assert_true(tw_session_span_includes(&s, 1000));
    assert_true(tw_session_span_includes(&s, INT64_MAX - 1));
    assert_int_equal(tw_session_span_end(&s, 5000), 5000);
    assert_false(tw_session_span_due(&s, INT64_MAX, 1e9));

    const double hold = 0.6, t0 = 100.0;
    const int64_t stop = 48000;
    tw_session_span_stop(&s, stop, RATE, hold, t0);
    assert_true(s.closing);
    assert_true(tw_session_span_includes(&s, stop - 1));
    assert_false(tw_session_span_includes(&s, stop));
    assert_int_equal(tw_session_span_end(&s, stop + 999), stop);
    int64_t due_at = stop + (int64_t)ceil(hold * RATE);
    assert_false(tw_session_span_due(&s, due_at - 1, t0 + 1.5 * hold - 0.01));
    assert_true(tw_session_span_due(&s, due_at, t0));
    assert_true(tw_session_span_due(&s, stop, t0 + 1.5 * hold)); /* stalled input */

    tw_session_span_open(&s, 2 * stop); /* a new session: nothing pending */
    assert_false(s.closing);
    assert_false(tw_session_span_due(&s, INT64_MAX, 1e9));
}

static void test_owns(void **state)
{
    (void)state;
    tw_session_span s;
    tw_session_span_open(&s, 10000);
    tw_event a = ev(TW_EVT_LTR, 9999, 12000);   /* LTR begun before the start */
    tw_event b = ev(TW_EVT_LTR, 10000, 11000);  /* LTR at the start */
    tw_event c = ev(TW_EVT_EPN, 5000, 10000);   /* EPN reaching into it */
    tw_event d = ev(TW_EVT_EPN, 5000, 9999);    /* EPN ended before it */
    assert_false(tw_session_span_owns(&s, &a));
    assert_true(tw_session_span_owns(&s, &b));
    assert_true(tw_session_span_owns(&s, &c));
    assert_false(tw_session_span_owns(&s, &d));
    tw_session_span_stop(&s, 20000, RATE, 0.5, 0.0);
    tw_event e = ev(TW_EVT_LTR, 19999, 21000);  /* begun before the stop */
    tw_event f = ev(TW_EVT_LTR, 20000, 20500);  /* at the stop */
    tw_event g = ev(TW_EVT_EPN, 20001, 30000);  /* EPN begun after the stop */
    assert_true(tw_session_span_owns(&s, &e));
    assert_false(tw_session_span_owns(&s, &f));
    assert_false(tw_session_span_owns(&s, &g));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_stop_timing),
        cmocka_unit_test(test_owns),
    };
    return cmocka_run_group_tests_name("session_span", tests, NULL, NULL);
}
