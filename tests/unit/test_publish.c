/* test_publish.c: the publisher thread (daemon/out/publish.h) over real
 * ZeroMQ sockets (TCP on 127.0.0.1 with an ephemeral port, IPC in a
 * temporary directory; ZMQ_LINGER=0 on every test socket).
 *
 * What is asserted:
 *  - fan-out: one publisher bound to "tcp://127.0.0.1:*" and an ipc://
 *    path; tw_pub_get_endpoints gives both as bound (the port resolved,
 *    the ipc file a socket of mode 0660). After the subscriptions have
 *    propagated (probe messages are published until every subscriber has
 *    one), 4000 messages of 8 topics (31-byte topic included), header-only
 *    and with payloads of 0 to 16 KB (an empty payload frame included),
 *    pushed in batches of 100, reach a TCP and an IPC subscriber complete,
 *    in order, frame for frame ([topic][header] or
 *    [topic][header][payload], topic without NUL);
 *  - a third subscriber that never reads after its first probe costs
 *    nothing: every batch leaves the queue (is sent) within 2 s without
 *    any subscriber reading, no tw_mq_push fails, the slowest push stays
 *    far below anything a blocked publisher would cause (printed), and
 *    the stalled subscriber, read at the end, got a strict subset in
 *    order (PUB dropped for it at its HWM), exact frames;
 *  - counters: sent = messages pushed, dropped = 0, bytes = the sum of
 *    all frame sizes;
 *  - throughput (printed, messages/s and MB/s) with a stalled subscriber
 *    and a reading one; the reader gets everything published after its
 *    subscription, in order; a floor of 5000 messages/s is asserted (the
 *    daemon sends about 20 per second per channel);
 *  - bad endpoints give NULL and one message naming the endpoint: a port
 *    in use, a bad port, an unsupported transport, an empty list item, an
 *    ipc path that is a regular file (left intact) or that another
 *    publisher listens on; a bad sndhwm or no queue is refused; a failure
 *    on the second endpoint leaves no ipc file behind; a stale ipc socket
 *    file is replaced;
 *  - stop drains: messages still queued when stop is called all reach
 *    the subscriber; stop closes the queue itself if the caller did not;
 *    stop removes the ipc file; 20 start/stop cycles leak no file
 *    descriptor (and, under ASan, no memory).
 *
 * `test_publish --serve [--ipc PATH] [--stream ID] [N_SECONDS]` is not a test: it is the publisher
 * that tests/system/sub_basic.sh points `twitchd sub` at (see the end of
 * this file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ipcfile.h"
#include "mq.h"
#include "publish.h"
#include "tw_test_util.h"
#include "tw_clock.h"

#define N_MSG 4000        /* messages in the fan-out test */
#define BATCH 100         /* pushed between two checks */
#define FAN_HWM 500       /* the publisher's ZMQ_SNDHWM in that test */
#define N_THROUGHPUT 100000

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* A temporary directory, removed (with what is in it) by rm_tmpdir. */
static void make_tmpdir(char *dir, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, len, "%s/twpub.XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}

static void rm_tmpdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* ---- messages ---- */

typedef struct {
    char topic[32];
    char *header;
    size_t header_len;
    unsigned char *payload; /* NULL: no payload frame */
    size_t payload_len;
} expect_msg;

static tw_msg *to_msg(const expect_msg *e)
{
    tw_msg *m = tw_msg_new(e->topic, e->header, e->header_len);
    assert_non_null(m);
    if (e->payload) {
        m->payload = tt_xmalloc(e->payload_len);
        memcpy(m->payload, e->payload, e->payload_len);
        m->payload_len = e->payload_len;
    }
    return m;
}

static void free_expect(expect_msg *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].header);
        free(e[i].payload);
    }
    free(e);
}

/* n messages in the shape of the protocol: 8 topics, per-topic seq,
 * headers of random length, sig.* with float payloads of 0..4096 values
 * (the first sig.1 with an empty payload frame). */
static expect_msg *make_messages(size_t n, tt_rng *r)
{
    static const char *const topics[] = {
        "evt.ltr", "evt.epn", "evt.start.ltr", "sts", "gap", "sig.0", "sig.1",
        "t.topic.of.thirty.one.bytes.xyz", /* 31 bytes: tw_msg's longest */
    };
    enum { NT = sizeof topics / sizeof topics[0] };
    uint64_t seq[NT] = {0};
    expect_msg *v = tt_xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        size_t t = tt_index(r, NT);
        snprintf(v[i].topic, sizeof v[i].topic, "%s", topics[t]);
        size_t pad = tt_index(r, 300);
        char *padding = tt_xmalloc(pad + 1);
        for (size_t k = 0; k < pad; k++)
            padding[k] = (char)('a' + tt_index(r, 26));
        padding[pad] = '\0';
        char buf[1024];
        int len = snprintf(buf, sizeof buf,
                           "{\"v\":1,\"topic\":\"%s\",\"stream\":\"0123456789abcdef\","
                           "\"seq\":%llu,\"sample\":%zu,\"i\":%zu,\"pad\":\"%s\"}",
                           topics[t], (unsigned long long)seq[t]++, i * 480, i, padding);
        free(padding);
        v[i].header = tt_xmalloc((size_t)len + 1);
        memcpy(v[i].header, buf, (size_t)len + 1);
        v[i].header_len = (size_t)len;
        if (!strncmp(topics[t], "sig.", 4)) {
            size_t nf = (!strcmp(topics[t], "sig.1") && seq[t] == 1) ? 0 : tt_index(r, 4097);
            v[i].payload = tt_xmalloc(nf * 4 + 1);
            for (size_t k = 0; k < nf; k++) {
                float f = (float)tt_gauss(r) * 100.0f;
                memcpy(v[i].payload + 4 * k, &f, 4);
            }
            v[i].payload_len = nf * 4;
        }
    }
    return v;
}

/* ---- test subscribers ---- */

typedef struct {
    int n;             /* frames (at most 4 kept) */
    zmq_msg_t f[4];
} frames;

/* One message within timeout_ms: 1, or 0 on timeout. */
static int recv_frames(void *sock, int timeout_ms, frames *fr)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&it, 1, timeout_ms);
    assert_true(rc >= 0);
    if (rc == 0)
        return 0;
    fr->n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        assert_true(zmq_msg_recv(&m, sock, 0) >= 0);
        more = zmq_msg_more(&m);
        if (fr->n < 4) {
            zmq_msg_init(&fr->f[fr->n]);
            zmq_msg_move(&fr->f[fr->n], &m);
        }
        fr->n++;
        zmq_msg_close(&m);
    }
    return 1;
}

static void frames_close(frames *fr)
{
    for (int i = 0; i < fr->n && i < 4; i++)
        zmq_msg_close(&fr->f[i]);
    fr->n = 0;
}

static int frame_is(frames *fr, int i, const void *data, size_t len)
{
    return zmq_msg_size(&fr->f[i]) == len && (len == 0 || !memcmp(zmq_msg_data(&fr->f[i]), data, len));
}

static int frames_match(frames *fr, const expect_msg *e)
{
    int want = e->payload ? 3 : 2;
    return fr->n == want && frame_is(fr, 0, e->topic, strlen(e->topic)) &&
           frame_is(fr, 1, e->header, e->header_len) &&
           (!e->payload || frame_is(fr, 2, e->payload, e->payload_len));
}

static int is_probe(frames *fr) { return frame_is(fr, 0, "probe", 5); }

static void *sub_socket(void *ctx, const char *endpoint, int rcvhwm, int rcvbuf)
{
    void *s = zmq_socket(ctx, ZMQ_SUB);
    assert_non_null(s);
    int zero = 0;
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), 0);
    if (rcvhwm >= 0)
        assert_int_equal(zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm), 0);
    if (rcvbuf > 0)
        assert_int_equal(zmq_setsockopt(s, ZMQ_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(zmq_connect(s, endpoint), 0);
    return s;
}

static void push_probe(tw_mq *q, unsigned k)
{
    char h[64];
    int n = snprintf(h, sizeof h, "{\"probe\":%u}", k);
    tw_msg *m = tw_msg_new("probe", h, (size_t)n);
    assert_non_null(m);
    assert_int_equal(tw_mq_push(q, m), 0);
}

/* Publish probes every 10 ms until every subscriber has received one (a
 * PUB drops everything before a subscription has propagated). Returns
 * the number of probes pushed. */
static unsigned wait_subscribed(tw_mq *q, void **subs, int n)
{
    int ready[8] = {0}, left = n;
    unsigned k = 0;
    double t_end = tw_mono_s() + 10.0;
    while (left > 0) {
        assert_true(tw_mono_s() < t_end);
        push_probe(q, k++);
        sleep_ms(10);
        for (int i = 0; i < n; i++) {
            frames fr;
            while (!ready[i] && recv_frames(subs[i], 0, &fr)) {
                assert_true(is_probe(&fr));
                ready[i] = 1;
                left--;
                frames_close(&fr);
            }
        }
    }
    return k;
}

/* ---- fan-out, HWM, never blocking ---- */

static void test_fanout_tcp_ipc_and_stalled_subscriber(void **state)
{
    (void)state;
    tt_rng r;
    tt_rng_seed(&r, tt_seed("fan-out messages", 20240611));
    expect_msg *ex = make_messages(N_MSG, &r);

    char dir[256], list[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(list, sizeof list, "tcp://127.0.0.1:*, ipc://%s/pub.sock", dir);
    tw_mq *q = tw_mq_create(8192);
    assert_non_null(q);
    char err[512];
    tw_pub *p = tw_pub_start_curve(list, FAN_HWM, q, NULL, err, sizeof err);
    if (!p)
        fail_msg("tw_pub_start_curve(%s): %s", list, err);

    char ep[4][TW_PUB_ENDPOINT_LEN];
    assert_int_equal(tw_pub_get_endpoints(p, ep, 4), 2);
    printf("bound: %s and %s\n", ep[0], ep[1]);
    assert_true(!strncmp(ep[0], "tcp://127.0.0.1:", 16));
    int port = atoi(ep[0] + 16);
    assert_true(port > 0 && port < 65536);
    char want_ipc[512];
    snprintf(want_ipc, sizeof want_ipc, "ipc://%s/pub.sock", dir);
    assert_string_equal(ep[1], want_ipc);
    struct stat st;
    assert_int_equal(stat(ep[1] + 6, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);

    void *ctx = zmq_ctx_new();
    void *subs[3];
    subs[0] = sub_socket(ctx, ep[0], -1, 0);        /* TCP reader */
    subs[1] = sub_socket(ctx, ep[1], -1, 0);        /* IPC reader */
    subs[2] = sub_socket(ctx, ep[0], 10, 4096);     /* stalled: never reads */
    unsigned probes = wait_subscribed(q, subs, 3);
    printf("subscriptions propagated after %u probes\n", probes);

    size_t next[2] = {0, 0};
    double max_push = 0, sum_push = 0, max_drain = 0;
    size_t max_len = 0;
    uint64_t bytes = 0;
    for (size_t b0 = 0; b0 < N_MSG; b0 += BATCH) {
        for (size_t i = b0; i < b0 + BATCH; i++) {
            tw_msg *m = to_msg(&ex[i]);
            double t0 = tw_mono_s();
            int rc = tw_mq_push(q, m);
            double dt = tw_mono_s() - t0;
            assert_int_equal(rc, 0);
            sum_push += dt;
            if (dt > max_push)
                max_push = dt;
            bytes += strlen(ex[i].topic) + ex[i].header_len + ex[i].payload_len;
        }
        size_t len = tw_mq_get_length(q);
        if (len > max_len)
            max_len = len;
        /* The queue empties without anyone reading: the publisher does
         * not wait for subscribers. */
        double t0 = tw_mono_s();
        while (tw_mq_get_length(q) > 0) {
            if (tw_mono_s() - t0 > 2.0)
                fail_msg("batch at %zu: the queue still holds %zu messages after 2 s",
                         b0, tw_mq_get_length(q));
            sleep_ms(1);
        }
        if (tw_mono_s() - t0 > max_drain)
            max_drain = tw_mono_s() - t0;
        /* Both readers get the whole batch, in order, frame for frame. */
        for (int s = 0; s < 2; s++) {
            while (next[s] < b0 + BATCH) {
                frames fr;
                if (!recv_frames(subs[s], 5000, &fr))
                    fail_msg("%s subscriber: nothing for 5 s, waiting for message %zu",
                             s ? "IPC" : "TCP", next[s]);
                if (is_probe(&fr)) {
                    frames_close(&fr);
                    continue;
                }
                if (!frames_match(&fr, &ex[next[s]]))
                    fail_msg("%s subscriber: message %zu (topic %s) differs: %d frames",
                             s ? "IPC" : "TCP", next[s], ex[next[s]].topic, fr.n);
                next[s]++;
                frames_close(&fr);
            }
        }
    }
    printf("tw_mq_push: slowest %.1f us, mean %.2f us; longest queue %zu; "
           "slowest batch drain %.1f ms\n",
           max_push * 1e6, sum_push / N_MSG * 1e6, max_len, max_drain * 1e3);
    assert_true(max_push < 0.1); /* a blocked producer would wait forever */
    assert_int_equal(tw_mq_get_dropped(q), 0);

    /* Nothing more for the readers. */
    for (int s = 0; s < 2; s++) {
        frames fr;
        while (recv_frames(subs[s], 50, &fr)) {
            assert_true(is_probe(&fr));
            frames_close(&fr);
        }
    }

    /* The stalled subscriber: a strict subset, in order, exact. */
    size_t got = 0, j = 0;
    frames fr;
    while (recv_frames(subs[2], 300, &fr)) {
        if (!is_probe(&fr)) {
            while (j < N_MSG && !frames_match(&fr, &ex[j]))
                j++;
            if (j == N_MSG)
                fail_msg("stalled subscriber: message %zu is out of order or corrupt", got);
            j++;
            got++;
        }
        frames_close(&fr);
    }
    printf("stalled subscriber (RCVHWM 10, SO_RCVBUF 4 KB; publisher SNDHWM %d): "
           "got %zu of %d messages\n", FAN_HWM, got, N_MSG);
    assert_true(got < N_MSG);

    tw_pub_stats s;
    tw_pub_get_stats(p, &s);
    printf("sent %llu, dropped %llu, bytes %llu\n", (unsigned long long)s.sent,
           (unsigned long long)s.dropped, (unsigned long long)s.bytes);
    assert_int_equal(s.sent, N_MSG + probes);
    assert_int_equal(s.dropped, 0);
    uint64_t probe_bytes = 0;
    for (unsigned k = 0; k < probes; k++) {
        char h[64];
        probe_bytes += 5 + (uint64_t)snprintf(h, sizeof h, "{\"probe\":%u}", k);
    }
    assert_int_equal(s.bytes, bytes + probe_bytes);

    tw_mq_close(q);
    tw_pub_stop(p);
    assert_int_equal(access(want_ipc + 6, F_OK), -1); /* ipc file removed */
    for (int i = 0; i < 3; i++)
        zmq_close(subs[i]);
    zmq_ctx_term(ctx);
    tw_mq_destroy(q);
    free_expect(ex, N_MSG);
    rm_tmpdir(dir);
}

/* ---- throughput ---- */

static void throughput(size_t payload_floats, const char *what)
{
    tw_mq *q = tw_mq_create(N_THROUGHPUT + 64);
    assert_non_null(q);
    char err[256];
    tw_pub *p = tw_pub_start_curve("tcp://127.0.0.1:*", 10000, q, NULL, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    char ep[1][TW_PUB_ENDPOINT_LEN];
    tw_pub_get_endpoints(p, ep, 1);
    void *ctx = zmq_ctx_new();
    void *subs[2];
    subs[0] = sub_socket(ctx, ep[0], 0, 0);   /* reader, unlimited RCVHWM */
    subs[1] = sub_socket(ctx, ep[0], 10, 4096); /* stalled */
    unsigned probes = wait_subscribed(q, subs, 2);

    char h[256];
    size_t msgs_len = 0;
    tw_msg **msgs = tt_xcalloc(N_THROUGHPUT, sizeof *msgs);
    for (size_t i = 0; i < N_THROUGHPUT; i++) {
        /* fixed width: every header is as long as the others */
        int n = snprintf(h, sizeof h,
                         "{\"v\":1,\"topic\":\"sig.0\",\"stream\":\"0123456789abcdef\","
                         "\"seq\":%08zu,\"sample\":%010zu,\"clock\":{\"sample\":%010zu,"
                         "\"realtime\":1718000000.12345,\"monotonic\":12345.678901}}",
                         i, i * 100, i * 100);
        msgs_len = (size_t)n;
        msgs[i] = tw_msg_new("sig.0", h, (size_t)n);
        assert_non_null(msgs[i]);
        if (payload_floats) {
            msgs[i]->payload = tt_xcalloc(payload_floats, 4);
            msgs[i]->payload_len = payload_floats * 4;
        }
    }
    tw_pub_stats s0, s;
    tw_pub_get_stats(p, &s0);
    double t0 = tw_mono_s();
    for (size_t i = 0; i < N_THROUGHPUT; i++)
        assert_int_equal(tw_mq_push(q, msgs[i]), 0);
    double t_push = tw_mono_s() - t0;
    do {
        tw_pub_get_stats(p, &s);
        if (tw_mono_s() - t0 > 60)
            fail_msg("%s: only %llu of %d sent after 60 s", what,
                     (unsigned long long)(s.sent - s0.sent), N_THROUGHPUT);
        if (s.sent - s0.sent < N_THROUGHPUT)
            sleep_ms(1);
    } while (s.sent - s0.sent < N_THROUGHPUT);
    double dt = tw_mono_s() - t0;
    double rate = N_THROUGHPUT / dt;
    printf("throughput with a stalled subscriber connected, %s: %d messages in %.3f s: %.0f messages/s, %.1f MB/s "
           "(pushing them took %.3f s)\n",
           what, N_THROUGHPUT, dt, rate, (double)(s.bytes - s0.bytes) / dt / 1e6, t_push);
    assert_int_equal(s.dropped, 0);
    assert_true(rate > 5000); /* the daemon needs ~20 per second per channel */

    /* The reader gets what its HWM let through of this burst: in order,
     * each message whole. */
    size_t got = 0;
    long long last = -1;
    frames fr;
    while (recv_frames(subs[0], 300, &fr)) {
        if (!is_probe(&fr)) {
            assert_int_equal(fr.n, payload_floats ? 3 : 2);
            assert_int_equal(zmq_msg_size(&fr.f[1]), msgs_len);
            char hd[256];
            memcpy(hd, zmq_msg_data(&fr.f[1]), msgs_len);
            hd[msgs_len < sizeof hd ? msgs_len : sizeof hd - 1] = '\0';
            const char *sq = strstr(hd, "\"seq\":");
            assert_non_null(sq);
            long long seq = strtoll(sq + 6, NULL, 10);
            if (seq <= last)
                fail_msg("%s: seq %lld after %lld", what, seq, last);
            last = seq;
            got++;
        }
        frames_close(&fr);
    }
    printf("  the reading subscriber got %zu of them, in order (SNDHWM 10000: any others "
           "were dropped for it during the burst)\n", got);
    assert_true(got > 0);
    (void)probes;

    tw_mq_close(q);
    tw_pub_stop(p);
    zmq_close(subs[0]);
    zmq_close(subs[1]);
    zmq_ctx_term(ctx);
    tw_mq_destroy(q);
    free(msgs); /* the messages belonged to the queue, then were freed */
}

static void test_throughput_small(void **state)
{
    (void)state;
    throughput(0, "header only (~150 B)");
}

static void test_throughput_sig(void **state)
{
    (void)state;
    throughput(100, "sig-like (~150 B header + 100 float32)");
}

/* ---- bad endpoints ---- */

static void expect_fail(const char *list, int hwm, tw_mq *q, const char *needle1,
                        const char *needle2)
{
    char err[512] = "untouched";
    tw_pub *p = tw_pub_start_curve(list, hwm, q, NULL, err, sizeof err);
    if (p) {
        tw_pub_stop(p);
        fail_msg("tw_pub_start_curve('%s') succeeded", list ? list : "(null)");
    }
    printf("'%s': %s\n", list ? list : "(null)", err);
    if (needle1 && !strstr(err, needle1))
        fail_msg("error '%s' does not contain '%s'", err, needle1);
    if (needle2 && !strstr(err, needle2))
        fail_msg("error '%s' does not contain '%s'", err, needle2);
}

/* Which tcp:// endpoints stay on this machine (the exposure warnings of
 * the publisher and the control socket). */
static void test_tcp_loopback(void **state)
{
    (void)state;
    static const char *yes[] = {"tcp://127.0.0.1:5556", "tcp://127.1.2.3:*", "tcp://localhost:1",
                                "tcp://[::1]:5556"};
    static const char *no[] = {"tcp://0.0.0.0:5556", "tcp://*:5556", "tcp://127.example.org:1",
                               "tcp://127.0.0.1.evil:1", "tcp://192.168.1.2:5556",
                               "tcp://localhost.example:1", "tcp://[::]:1", "tcp://eth0:1",
                               "ipc:///run/twitchd/pub", "tcp://127.0.0.1", "tcp://:1"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!tw_tcp_loopback(yes[i]))
            fail_msg("%s: not seen as loopback", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (tw_tcp_loopback(no[i]))
            fail_msg("%s: seen as loopback", no[i]);
}

static void test_bad_endpoints(void **state)
{
    (void)state;
    tw_mq *q = tw_mq_create(16);
    char err[512], dir[256], path[512], list[700];
    make_tmpdir(dir, sizeof dir);

    /* a port already taken */
    tw_pub *p = tw_pub_start_curve("tcp://127.0.0.1:*", 10, q, NULL, err, sizeof err);
    assert_non_null(p);
    char ep[1][TW_PUB_ENDPOINT_LEN];
    tw_pub_get_endpoints(p, ep, 1);
    snprintf(list, sizeof list, "endpoint '%s': cannot bind: Address already in use", ep[0]);
    expect_fail(ep[0], 10, q, list, NULL);

    /* another publisher on the ipc path: refused, not taken over */
    snprintf(path, sizeof path, "%s/busy.sock", dir);
    snprintf(list, sizeof list, "ipc://%s", path);
    tw_mq *q2 = tw_mq_create(16);
    tw_pub *p2 = tw_pub_start_curve(list, 10, q2, NULL, err, sizeof err);
    if (!p2)
        fail_msg("%s", err);
    expect_fail(list, 10, q, list, "in use");
    struct stat st;
    assert_int_equal(stat(path, &st), 0); /* still there, still p2's */
    tw_pub_stop(p2);
    tw_mq_destroy(q2);
    assert_int_equal(access(path, F_OK), -1);
    tw_pub_stop(p);
    tw_mq_destroy(q);
    q = tw_mq_create(16);

    expect_fail("tcp://127.0.0.1:notaport", 10, q, "endpoint 'tcp://127.0.0.1:notaport'",
                "out of range");
    /* not bound modulo 65536 (99999 was port 34463) */
    expect_fail("tcp://127.0.0.1:99999", 10, q, "endpoint 'tcp://127.0.0.1:99999'",
                "port '99999' out of range (allowed 1 .. 65535");
    expect_fail("tcp://127.0.0.1:0", 10, q, "port '0' out of range", NULL);
    expect_fail("udp://127.0.0.1:5556", 10, q, "endpoint 'udp://127.0.0.1:5556'",
                "unsupported transport");
    expect_fail("inproc://x", 10, q, "endpoint 'inproc://x'", "unsupported transport");
    expect_fail("tcp://127.0.0.1:*,,ipc://x", 10, q, "empty item", NULL);
    expect_fail("", 10, q, "empty item", NULL);
    expect_fail("tcp://", 10, q, "endpoint 'tcp://'", "expected tcp://HOST:PORT");
    expect_fail("ipc://", 10, q, "endpoint 'ipc://'", "no path");
    expect_fail(NULL, 10, q, "no endpoint", NULL);
    expect_fail("tcp://127.0.0.1:*", 0, q, "sndhwm 0", "1 .. 1000000");
    expect_fail("tcp://127.0.0.1:*", 1000001, q, "sndhwm", NULL);
    expect_fail("tcp://127.0.0.1:*", 10, NULL, "no queue", NULL);

    /* a regular file at the ipc path: refused, left intact */
    snprintf(path, sizeof path, "%s/regular", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("keep me\n", f);
    fclose(f);
    snprintf(list, sizeof list, "ipc://%s", path);
    expect_fail(list, 10, q, list, "not a socket");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 8);

    /* the second endpoint fails: the first one's ipc file is gone */
    snprintf(path, sizeof path, "%s/first.sock", dir);
    snprintf(list, sizeof list, "ipc://%s,tcp://256.0.0.1:5556", path);
    expect_fail(list, 10, q, "endpoint 'tcp://256.0.0.1:5556'", NULL);
    assert_int_equal(access(path, F_OK), -1);

    /* a stale socket file (its process died) is replaced */
    snprintf(path, sizeof path, "%s/stale.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    assert_true(strlen(path) < sizeof a.sun_path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd); /* the file stays, nobody listens */
    snprintf(list, sizeof list, "ipc://%s", path);
    p = tw_pub_start_curve(list, 10, q, NULL, err, sizeof err);
    if (!p)
        fail_msg("stale socket file not replaced: %s", err);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    tw_pub_stop(p);
    assert_int_equal(access(path, F_OK), -1);

    tw_mq_destroy(q);
    rm_tmpdir(dir);
}

/* ---- stop ---- */

static void test_stop_drains_queue(void **state)
{
    (void)state;
    enum { N = 2000 };
    tw_mq *q = tw_mq_create(N + 64);
    char err[256];
    tw_pub *p = tw_pub_start_curve("tcp://127.0.0.1:*", N + 64, q, NULL, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    char ep[1][TW_PUB_ENDPOINT_LEN];
    tw_pub_get_endpoints(p, ep, 1);
    void *ctx = zmq_ctx_new();
    void *sub = sub_socket(ctx, ep[0], 0, 0);
    wait_subscribed(q, &sub, 1);
    for (int i = 0; i < N; i++) {
        char h[64];
        int n = snprintf(h, sizeof h, "{\"seq\":%d}", i);
        tw_msg *m = tw_msg_new("evt.ltr", h, (size_t)n);
        assert_int_equal(tw_mq_push(q, m), 0);
    }
    size_t queued = tw_mq_get_length(q);
    /* the caller forgets tw_mq_close: stop closes the queue itself */
    tw_pub_stop(p);
    printf("%zu of %d messages were still queued when stop was called\n", queued, N);
    int got = 0;
    frames fr;
    while (got < N && recv_frames(sub, 2000, &fr)) {
        if (!is_probe(&fr)) {
            char h[64];
            int n = snprintf(h, sizeof h, "{\"seq\":%d}", got);
            assert_true(frame_is(&fr, 1, h, (size_t)n));
            got++;
        }
        frames_close(&fr);
    }
    assert_int_equal(got, N);
    tw_msg *m = tw_msg_new("evt.ltr", "{}", 2);
    assert_int_equal(tw_mq_push(q, m), -1); /* closed */
    zmq_close(sub);
    zmq_ctx_term(ctx);
    tw_mq_destroy(q);
    tw_pub_stop(NULL);
}

/* tw_mq_push_quiet queues without waking a waiting consumer; tw_mq_wake
 * wakes it once for all that is queued. */
typedef struct {
    tw_mq *q;
    atomic_int got;
    tw_msg *m[3];
} quiet_t;

static void *quiet_consumer(void *arg)
{
    quiet_t *c = arg;
    c->m[0] = tw_mq_pop(c->q, -1);
    atomic_store(&c->got, 1);
    c->m[1] = tw_mq_pop(c->q, 0);
    c->m[2] = tw_mq_pop(c->q, 0);
    return NULL;
}

static void test_quiet_push(void **state)
{
    (void)state;
    quiet_t c = {.q = tw_mq_create(8)};
    assert_non_null(c.q);
    atomic_init(&c.got, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, quiet_consumer, &c), 0);
    struct timespec d = {0, 50000000};
    nanosleep(&d, NULL); /* the consumer is waiting */
    assert_int_equal(tw_mq_push_quiet(c.q, tw_msg_new("sig.0", "{\"a\":0}", 7)), 0);
    assert_int_equal(tw_mq_push_quiet(c.q, tw_msg_new("sig.1", "{\"a\":1}", 7)), 0);
    struct timespec w = {0, 300000000};
    nanosleep(&w, NULL);
    if (atomic_load(&c.got))
        fail_msg("a quiet push woke the consumer");
    assert_int_equal(tw_mq_get_length(c.q), 2);
    tw_mq_wake(c.q);
    pthread_join(th, NULL);
    assert_non_null(c.m[0]);
    assert_non_null(c.m[1]);
    assert_null(c.m[2]);
    assert_string_equal(c.m[0]->topic, "sig.0");
    assert_string_equal(c.m[1]->topic, "sig.1");
    tw_msg_free(c.m[0]);
    tw_msg_free(c.m[1]);
    tw_mq_wake(c.q); /* nothing queued: nothing happens */
    tw_mq_destroy(c.q);
}

static void test_start_stop_cycles(void **state)
{
    (void)state;
    char dir[256], list[512], err[256];
    make_tmpdir(dir, sizeof dir);
    snprintf(list, sizeof list, "tcp://127.0.0.1:*,ipc://%s/c.sock", dir);
    int fds = count_fds();
    for (int i = 0; i < 20; i++) {
        tw_mq *q = tw_mq_create(16);
        tw_pub *p = tw_pub_start_curve(list, 100, q, NULL, err, sizeof err);
        if (!p)
            fail_msg("cycle %d: %s", i, err);
        tw_mq_push(q, tw_msg_new("sts", "{}", 2));
        tw_mq_close(q);
        tw_pub_stop(p);
        tw_mq_destroy(q);
    }
    printf("open file descriptors: %d before, %d after 20 cycles\n", fds, count_fds());
    assert_int_equal(count_fds(), fds);
    rm_tmpdir(dir);
}

/* ---- `test_publish --serve`: a publisher for tests/system/sub_*.sh ----
 *
 * Binds tcp://127.0.0.1:* (and ipc://PATH with --ipc PATH), prints the
 * bound endpoints on stdout, one per line, then publishes an "sts"
 * heartbeat every 50 ms. On SIGUSR1 it publishes this burst once:
 *   evt.ltr seq 0, 1, then 4 (2 messages missing), then 3 (out of order);
 *   evt.start.ltr seq 0, an onset notice, and evt.cancel seq 0, its
 *   cancellation;
 *   evt.epn seq 0 whose header has no "topic" field;
 *   sig.0 seq 0 with 4 float32 LE: 0.5 -1.25 0.003 1234.5;
 *   evt.bad whose header is not JSON;
 *   gap seq 0 with a header spread over several lines.
 * --stream ID sets the heartbeat's "stream" (the burst keeps its own).
 * Exits 0 on SIGTERM/SIGINT, or after N_SECONDS (default 30). */

static volatile sig_atomic_t serve_stop, serve_burst;

static void serve_signal(int sig)
{
    if (sig == SIGUSR1)
        serve_burst = 1;
    else
        serve_stop = 1;
}

static void serve_push(tw_mq *q, const char *topic, const char *header, const float *v,
                       size_t n)
{
    tw_msg *m = tw_msg_new(topic, header, strlen(header));
    if (!m)
        return;
    if (v) {
        m->payload = tt_xmalloc(n * 4);
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            unsigned char *b = (unsigned char *)m->payload + 4 * i;
            b[0] = (unsigned char)u;
            b[1] = (unsigned char)(u >> 8);
            b[2] = (unsigned char)(u >> 16);
            b[3] = (unsigned char)(u >> 24);
        }
        m->payload_len = n * 4;
    }
    tw_mq_push(q, m);
}

#define SERVE_COMMON "\"v\":1,\"stream\":\"5e7e000000000001\","
#define SERVE_CLOCK ",\"clock\":{\"sample\":48000,\"realtime\":1718000000.25,\"monotonic\":100.5}"

static int serve(int argc, char **argv)
{
    double seconds = 30;
    const char *stream = "5e7e000000000001";
    char list[600] = "tcp://127.0.0.1:*";
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--stream") && i + 1 < argc)
            stream = argv[++i];
        else if (!strcmp(argv[i], "--ipc") && i + 1 < argc)
            snprintf(list + strlen(list), sizeof list - strlen(list), ",ipc://%s", argv[++i]);
        else
            seconds = atof(argv[i]);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = serve_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    tw_mq *q = tw_mq_create(1024);
    char err[512];
    tw_pub *p = tw_pub_start_curve(list, 1000, q, NULL, err, sizeof err);
    if (!p) {
        fprintf(stderr, "test_publish --serve: %s\n", err);
        tw_mq_destroy(q);
        return 1;
    }
    char ep[4][TW_PUB_ENDPOINT_LEN];
    size_t n = tw_pub_get_endpoints(p, ep, 4);
    for (size_t i = 0; i < n && i < 4; i++)
        printf("%s\n", ep[i]);
    fflush(stdout);
    double t_end = tw_mono_s() + seconds;
    unsigned long long sts = 0;
    char h[512];
    while (!serve_stop && tw_mono_s() < t_end) {
        snprintf(h, sizeof h,
                 "{\"v\":1,\"stream\":\"%s\",\"topic\":\"sts\",\"seq\":%llu,\"sample\":%llu"
                 SERVE_CLOCK ",\"uptime_s\":%.2f}",
                 stream, sts, sts * 2400, (double)sts * 0.05);
        sts++;
        serve_push(q, "sts", h, NULL, 0);
        if (serve_burst) {
            serve_burst = 0;
            static const int seqs[] = {0, 1, 4, 3};
            for (int i = 0; i < 4; i++) {
                snprintf(h, sizeof h,
                         "{" SERVE_COMMON "\"topic\":\"evt.ltr\",\"seq\":%d,\"sample\":%d" SERVE_CLOCK
                         ",\"type\":\"ltr\",\"channel\":0,\"offset_sample\":%d,\"peak_uv\":1460.2}",
                         seqs[i], 50000 + i, 50000 + i);
                serve_push(q, "evt.ltr", h, NULL, 0);
            }
            serve_push(q, "evt.start.ltr",
                       "{" SERVE_COMMON "\"topic\":\"evt.start.ltr\",\"seq\":0,\"sample\":49990"
                       SERVE_CLOCK ",\"type\":\"ltr\",\"start\":true,\"channel\":0,\"id\":7}",
                       NULL, 0);
            serve_push(q, "evt.cancel",
                       "{" SERVE_COMMON "\"topic\":\"evt.cancel\",\"seq\":0,\"sample\":49990"
                       SERVE_CLOCK ",\"type\":\"ltr\",\"channel\":0,\"id\":7,"
                       "\"reason\":\"voluntary\"}",
                       NULL, 0);
            serve_push(q, "evt.epn",
                       "{" SERVE_COMMON "\"seq\":0,\"sample\":60000" SERVE_CLOCK
                       ",\"type\":\"epn\",\"channel\":1,\"mepp_rate_hz\":214.7}",
                       NULL, 0);
            static const float v[] = {0.5f, -1.25f, 0.003f, 1234.5f};
            serve_push(q, "sig.0",
                       "{" SERVE_COMMON "\"topic\":\"sig.0\",\"seq\":0,\"sample\":48000" SERVE_CLOCK
                       ",\"channel\":0,\"rate\":1000.0,\"decim\":48,\"count\":4,"
                       "\"scale_uv\":1.0,\"unit\":\"uV\",\"format\":\"float32le\"}",
                       v, 4);
            serve_push(q, "evt.bad", "not json", NULL, 0);
            serve_push(q, "gap",
                       "{\n  \"v\": 1,\n  \"topic\": \"gap\",\n  \"stream\": \"5e7e000000000001\",\n"
                       "  \"seq\": 0,\n  \"sample\": 70000,\n  \"cause\": \"ring full\"\n}\n",
                       NULL, 0);
        }
        sleep_ms(50);
    }
    tw_mq_close(q);
    tw_pub_stop(p);
    tw_mq_destroy(q);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--serve"))
        return serve(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fanout_tcp_ipc_and_stalled_subscriber),
        cmocka_unit_test(test_throughput_small),
        cmocka_unit_test(test_throughput_sig),
        cmocka_unit_test(test_quiet_push),
        cmocka_unit_test(test_bad_endpoints),
        cmocka_unit_test(test_tcp_loopback),
        cmocka_unit_test(test_stop_drains_queue),
        cmocka_unit_test(test_start_stop_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
