/* test_web_hub.c: the fan-out of `twitchd web` (daemon/webview/web_hub.h).
 *
 * What is asserted:
 *  - parameters: 0 clients, 0 or oversized queues, a hello over
 *    TW_WEB_HELLO_MAX are refused;
 *  - a client reads its hello first, then every record published after it
 *    joined, whole and in order, however small its read buffer (1, 7, 4096
 *    bytes); records published before it joined never reach it;
 *  - max_clients: one more join is refused (counted); a slot freed by
 *    leave is taken again;
 *  - a slow client (queue of 8, never reading) costs the others nothing:
 *    300 publishes to it and 15 readers stay fast (every publish under
 *    1 ms), the readers get all 300 records, the slow one the first 8 with
 *    a notice {"topic":"web.dropped","dropped":292} before them; its
 *    drops are counted (client and hub), and after it has read, new records
 *    reach it again;
 *  - threads: one producer publishes 20000 records while 16 readers read
 *    concurrently (one of them sleeping between reads); for each reader,
 *    records received + dropped (from its notices) = records published
 *    after it joined, in increasing order, none twice;
 *  - timeouts and close: a read with nothing to read returns 0 after
 *    about its timeout; a read waiting 5 s returns -1 within 0.5 s of
 *    tw_web_hub_close; after close, joins give NULL and publishes queue
 *    nothing; leaving with queued records frees them (no leak under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web_hub.h"
#include "tw_clock.h"

#define HELLO "retry: 1000\n\n"

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&t, NULL);
}

/* "data: {"n":N}\n\n" */
static void publish_n(tw_web_hub *h, long n)
{
    char rec[64];
    int k = snprintf(rec, sizeof rec, "data: {\"n\":%ld}\n\n", n);
    tw_web_hub_publish(h, tw_web_item_new(rec, (size_t)k));
}

/* Everything the client has now (reads with a 0 timeout until none), as a
 * malloc'd NUL-terminated string; chunk: the read buffer size. */
static char *drain(tw_web_client *c, size_t chunk)
{
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    char *buf = malloc(chunk);
    assert_non_null(out);
    assert_non_null(buf);
    for (;;) {
        ssize_t k = tw_web_client_read(c, buf, chunk, 0);
        assert_true(k >= 0);
        if (k == 0)
            break;
        assert_true((size_t)k <= chunk);
        while (n + (size_t)k + 1 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        memcpy(out + n, buf, (size_t)k);
        n += (size_t)k;
    }
    out[n] = '\0';
    free(buf);
    return out;
}

static void test_parameters(void **state)
{
    (void)state;
    assert_null(tw_web_hub_create(0, 10));
    assert_null(tw_web_hub_create(10, 0));
    assert_null(tw_web_hub_create(2000, 10));
    assert_null(tw_web_hub_create(10, 2000000));
    assert_null(tw_web_item_new("x", 0));
    tw_web_hub *h = tw_web_hub_create(2, 4);
    assert_non_null(h);
    static char big[TW_WEB_HELLO_MAX + 1];
    assert_null(tw_web_hub_join(h, big, sizeof big));
    tw_web_client *c = tw_web_hub_join(h, big, TW_WEB_HELLO_MAX);
    assert_non_null(c);
    tw_web_hub_leave(c);
    tw_web_hub_destroy(h);
    tw_web_hub_destroy(NULL);
    tw_web_hub_leave(NULL);
    tw_web_item_unref(NULL);
}

static void test_order_and_chunks(void **state)
{
    (void)state;
    tw_web_hub *h = tw_web_hub_create(4, 100);
    publish_n(h, -1); /* before anyone joined: nobody gets it */
    const size_t chunks[] = {1, 7, 4096};
    tw_web_client *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = tw_web_hub_join(h, HELLO, strlen(HELLO));
    for (long n = 0; n < 50; n++)
        publish_n(h, n);
    char want[4096];
    size_t w = (size_t)snprintf(want, sizeof want, "%s", HELLO);
    for (long n = 0; n < 50; n++)
        w += (size_t)snprintf(want + w, sizeof want - w, "data: {\"n\":%ld}\n\n", n);
    for (int i = 0; i < 3; i++) {
        char *got = drain(c[i], chunks[i]);
        assert_string_equal(got, want);
        free(got);
        assert_int_equal(tw_web_client_get_dropped(c[i]), 0);
    }
    tw_web_hub_stats st;
    tw_web_hub_get_stats(h, &st);
    assert_int_equal(st.clients, 3);
    assert_int_equal(st.published, 51);
    assert_int_equal(st.queued, 150);
    assert_int_equal(st.dropped, 0);
    for (int i = 0; i < 3; i++)
        tw_web_hub_leave(c[i]);
    tw_web_hub_destroy(h);
}

static void test_max_clients(void **state)
{
    (void)state;
    tw_web_hub *h = tw_web_hub_create(3, 10);
    tw_web_client *c[3];
    for (int i = 0; i < 3; i++)
        assert_non_null(c[i] = tw_web_hub_join(h, NULL, 0));
    assert_null(tw_web_hub_join(h, NULL, 0));
    tw_web_hub_leave(c[1]);
    c[1] = tw_web_hub_join(h, NULL, 0);
    assert_non_null(c[1]);
    tw_web_hub_stats st;
    tw_web_hub_get_stats(h, &st);
    assert_int_equal(st.clients, 3);
    assert_int_equal(st.joined, 4);
    assert_int_equal(st.refused, 1);
    for (int i = 0; i < 3; i++)
        tw_web_hub_leave(c[i]);
    tw_web_hub_destroy(h);
}

static void test_slow_client(void **state)
{
    (void)state;
    enum { READERS = 15, N = 300, QUEUE = 8 };
    tw_web_hub *h = tw_web_hub_create(READERS + 1, QUEUE);
    tw_web_client *slow = tw_web_hub_join(h, NULL, 0);
    tw_web_client *r[READERS];
    for (int i = 0; i < READERS; i++)
        r[i] = tw_web_hub_join(h, NULL, 0);
    char buf[256];
    double worst = 0;
    for (long n = 0; n < N; n++) {
        double t0 = tw_mono_s();
        publish_n(h, n);
        double dt = tw_mono_s() - t0;
        if (dt > worst)
            worst = dt;
        for (int i = 0; i < READERS; i++) { /* readers keep up: one record each */
            char want[64];
            int k = snprintf(want, sizeof want, "data: {\"n\":%ld}\n\n", n);
            assert_int_equal(tw_web_client_read(r[i], buf, sizeof buf, 0), k);
            assert_memory_equal(buf, want, (size_t)k);
        }
    }
    printf("slowest publish with a stalled client and %d readers: %.1f us\n", READERS,
           worst * 1e6);
    assert_true(worst < 1e-3);
    assert_int_equal(tw_web_client_get_dropped(slow), N - QUEUE);
    char want[1024];
    size_t w = (size_t)snprintf(want, sizeof want,
                                "data: {\"topic\":\"web.dropped\",\"dropped\":%d}\n\n", N - QUEUE);
    for (long n = 0; n < QUEUE; n++)
        w += (size_t)snprintf(want + w, sizeof want - w, "data: {\"n\":%ld}\n\n", n);
    char *got = drain(slow, 100);
    assert_string_equal(got, want);
    free(got);
    publish_n(h, N); /* it reads again */
    got = drain(slow, 100);
    assert_string_equal(got, "data: {\"n\":300}\n\n");
    free(got);
    tw_web_hub_stats st;
    tw_web_hub_get_stats(h, &st);
    assert_int_equal(st.dropped, N - QUEUE);
    for (int i = 0; i < READERS; i++)
        tw_web_hub_leave(r[i]);
    tw_web_hub_leave(slow);
    tw_web_hub_destroy(h);
}

/* ---- threads ---- */

enum { T_READERS = 16, T_N = 20000, T_QUEUE = 64 };

typedef struct {
    tw_web_client *c;
    int sleepy;
    long received, dropped, last, dup_or_order;
    atomic_int done;
} reader;

static tw_web_hub *g_hub;

/* Parse records out of the stream; "data: {"n":N}" or a drop notice. */
static void *reader_main(void *arg)
{
    reader *r = arg;
    char buf[512], rec[128];
    size_t rl = 0;
    r->last = -1;
    for (;;) {
        ssize_t k = tw_web_client_read(r->c, buf, r->sleepy ? 64 : sizeof buf, 200);
        if (k < 0)
            break;
        for (ssize_t i = 0; i < k; i++) {
            if (rl < sizeof rec - 1)
                rec[rl++] = buf[i];
            if (rl >= 2 && rec[rl - 1] == '\n' && rec[rl - 2] == '\n') {
                rec[rl] = '\0';
                long n, d;
                if (sscanf(rec, "data: {\"n\":%ld}", &n) == 1) {
                    if (n <= r->last)
                        r->dup_or_order++;
                    r->last = n;
                    r->received++;
                } else if (sscanf(rec, "data: {\"topic\":\"web.dropped\",\"dropped\":%ld}", &d) == 1) {
                    r->dropped = d;
                }
                rl = 0;
            }
        }
        /* everything accounted for: received or dropped */
        if (r->received + (long)tw_web_client_get_dropped(r->c) == T_N)
            break;
        if (r->sleepy)
            sleep_us(2000);
    }
    atomic_store(&r->done, 1);
    return NULL;
}

static void *producer_main(void *arg)
{
    (void)arg;
    for (long n = 0; n < T_N; n++) {
        publish_n(g_hub, n);
        if (n % 1000 == 999)
            sleep_us(1000); /* bursts, as the daemon's blocks come */
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    g_hub = tw_web_hub_create(T_READERS, T_QUEUE);
    reader r[T_READERS];
    pthread_t th[T_READERS], prod;
    memset(r, 0, sizeof r);
    for (int i = 0; i < T_READERS; i++) {
        r[i].c = tw_web_hub_join(g_hub, NULL, 0);
        r[i].sleepy = i == 0;
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &r[i]), 0);
    }
    double t0 = tw_mono_s();
    assert_int_equal(pthread_create(&prod, NULL, producer_main, NULL), 0);
    pthread_join(prod, NULL);
    double dt = tw_mono_s() - t0;
    /* every reader ends once all is received or dropped; close is the
     * safety net (then the counts below fail) */
    for (int k = 0; k < 1000; k++) {
        int all = 1;
        for (int i = 0; i < T_READERS; i++)
            all &= atomic_load(&r[i].done);
        if (all)
            break;
        sleep_us(10000);
    }
    tw_web_hub_close(g_hub);
    for (int i = 0; i < T_READERS; i++)
        pthread_join(th[i], NULL);
    long total_drop = 0;
    for (int i = 0; i < T_READERS; i++) {
        uint64_t d = tw_web_client_get_dropped(r[i].c);
        /* a last notice may not have been read before the close */
        assert_true(r[i].dropped <= (long)d);
        assert_int_equal(r[i].received + (long)d, T_N);
        assert_int_equal(r[i].dup_or_order, 0);
        total_drop += (long)d;
        tw_web_hub_leave(r[i].c);
    }
    printf("%d records to %d readers in %.3f s; dropped: sleepy reader %lu, all %ld\n", T_N,
           T_READERS, dt, (unsigned long)(r[0].received < T_N ? T_N - r[0].received : 0),
           total_drop);
    assert_true(r[0].received < T_N); /* the sleepy one did lose some */
    tw_web_hub_destroy(g_hub);
}

static void *close_later(void *arg)
{
    sleep_us(200000);
    tw_web_hub_close(arg);
    return NULL;
}

static void test_timeout_and_close(void **state)
{
    (void)state;
    tw_web_hub *h = tw_web_hub_create(4, 16);
    tw_web_client *c = tw_web_hub_join(h, NULL, 0);
    tw_web_client *idle = tw_web_hub_join(h, NULL, 0);
    char buf[64];
    double t0 = tw_mono_s();
    assert_int_equal(tw_web_client_read(c, buf, sizeof buf, 150), 0);
    double dt = tw_mono_s() - t0;
    assert_true(dt >= 0.14 && dt < 1.0);
    publish_n(h, 1);
    publish_n(h, 2); /* left queued in idle: freed by leave */
    assert_true(tw_web_client_read(c, buf, sizeof buf, 0) > 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, close_later, h), 0);
    t0 = tw_mono_s();
    assert_int_equal(tw_web_client_read(c, buf, sizeof buf, 5000), -1);
    dt = tw_mono_s() - t0;
    pthread_join(th, NULL);
    assert_true(dt < 0.5);
    assert_int_equal(tw_web_client_read(idle, buf, sizeof buf, 0), -1);
    assert_null(tw_web_hub_join(h, NULL, 0));
    char rec[] = "data: {}\n\n";
    assert_int_equal(tw_web_hub_publish(h, tw_web_item_new(rec, sizeof rec - 1)), 0);
    tw_web_hub_leave(c);
    tw_web_hub_leave(idle);
    tw_web_hub_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_order_and_chunks),
        cmocka_unit_test(test_max_clients),
        cmocka_unit_test(test_slow_client),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_timeout_and_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
