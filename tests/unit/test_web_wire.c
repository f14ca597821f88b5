/* test_web_wire.c: what `twitchd web` does to messages and requests
 * besides the fan-out: SSE records (daemon/webview/web_sse.h), the endpoint it
 * connects to (web_sub.h), web.listen (web_http.h) and the forwarding of
 * control requests (web_ctl.h, against a real ZeroMQ REP socket).
 *
 * What is asserted:
 *  - a sig.* message becomes its header, byte for byte, plus
 *    "samples":[...] (4 significant digits; NaN and infinities null); a
 *    header without "topic" gets it first; an empty header object; a
 *    header spread over lines is re-encoded on one line (the record has
 *    no newline but its closing pair); an unknown payload adds
 *    "payload_bytes"; malformed messages (bad topics, a header that is not
 *    a JSON object, a float32 payload whose size is not 4 x count) are
 *    refused with a reason;
 *  - publish.endpoint: the first item, trimmed; wildcard hosts become
 *    127.0.0.1; an ephemeral port and an empty list are refused;
 *  - web.listen: IPv4, IPv6 in brackets, names; loopback or not; errors
 *    name the problem (no port, IPv6 without brackets, port out of range,
 *    no host, unknown host);
 *  - /api/ctl: allowed requests reach the REP socket byte for byte and the
 *    reply comes back as it is (200); "set" and other commands are 403,
 *    bad JSON, non-objects, a missing cmd and oversized bodies 400, no
 *    endpoint 503, nobody answering 504 within the timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "web_ctl.h"
#include "web_http.h"
#include "web_sse.h"
#include "web_sub.h"
#include "tw_clock.h"

static char *fmt_ok(const char *topic, const char *header, const void *payload, size_t plen)
{
    char *out = NULL, err[256] = "";
    size_t n = 0;
    int rc = tw_web_sse_format(topic, strlen(topic), header, strlen(header), payload, plen, &out,
                               &n, err, sizeof err);
    if (rc != 0)
        fail_msg("format %s %s: %d %s", topic, header, rc, err);
    assert_int_equal(strlen(out), n);
    return out;
}

static void fmt_bad(const char *topic, size_t tlen, const char *header, const void *payload,
                    size_t plen, const char *why)
{
    char *out = (char *)1, err[256] = "";
    size_t n = 7;
    assert_int_equal(tw_web_sse_format(topic, tlen, header, strlen(header), payload, plen, &out,
                                       &n, err, sizeof err), -1);
    assert_null(out);
    assert_int_equal(n, 0);
    if (!strstr(err, why))
        fail_msg("reason '%s' lacks '%s'", err, why);
}

static void put_le(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

static void test_sse_sig(void **state)
{
    (void)state;
    const char *h = "{\"v\":1,\"topic\":\"sig.0\",\"seq\":3,\"sample\":4800,\"channel\":0,"
                    "\"rate\":1000.0,\"count\":5,\"decim\":48,\"scale_uv\":1.0,\"format\":\"float32le\"}";
    unsigned char p[20];
    put_le(p, 1.5f);
    put_le(p + 4, -2013.94f);
    put_le(p + 8, NAN);
    put_le(p + 12, INFINITY);
    put_le(p + 16, 0.000123456f);
    char *out = fmt_ok("sig.0", h, p, sizeof p);
    char want[512];
    snprintf(want, sizeof want, "data: %.*s,\"samples\":[1.5,-2014,null,null,0.0001235]}\n\n",
             (int)strlen(h) - 1, h);
    assert_string_equal(out, want);
    free(out);
    /* no samples: an empty array */
    const char *h0 = "{\"topic\":\"sig.1\",\"count\":0,\"format\":\"float32le\"}";
    out = fmt_ok("sig.1", h0, "", 0);
    assert_string_equal(out, "data: {\"topic\":\"sig.1\",\"count\":0,\"format\":\"float32le\",\"samples\":[]}\n\n");
    free(out);
}

static void test_sse_headers(void **state)
{
    (void)state;
    char *out = fmt_ok("evt.ltr", "{\"seq\":1,\"peak_uv\":1460.2}", NULL, 0);
    assert_string_equal(out, "data: {\"topic\":\"evt.ltr\",\"seq\":1,\"peak_uv\":1460.2}\n\n");
    free(out);
    out = fmt_ok("sts", "{}", NULL, 0);
    assert_string_equal(out, "data: {\"topic\":\"sts\"}\n\n");
    free(out);
    out = fmt_ok("x", "  {\"topic\":\"x\"} ", NULL, 0);
    assert_string_equal(out, "data: {\"topic\":\"x\"}\n\n");
    free(out);
    /* over several lines: one line */
    out = fmt_ok("gap", "{\n  \"topic\": \"gap\",\n  \"samples\": 960\n}\n", NULL, 0);
    assert_string_equal(out, "data: {\"topic\":\"gap\",\"samples\":960}\n\n");
    free(out);
    /* a payload that is not float32: its size */
    out = fmt_ok("raw.0", "{\"a\":1}", "abc", 3);
    assert_string_equal(out, "data: {\"topic\":\"raw.0\",\"a\":1,\"payload_bytes\":3}\n\n");
    free(out);
    out = fmt_ok("raw.1", "{}", "abc", 3);
    assert_string_equal(out, "data: {\"topic\":\"raw.1\",\"payload_bytes\":3}\n\n");
    free(out);
    char rec[64];
    assert_int_equal(tw_web_sse_record(rec, sizeof rec, "{\"topic\":\"web.hb\"}"), 26);
    assert_string_equal(rec, "data: {\"topic\":\"web.hb\"}\n\n");
}

static void test_sse_malformed(void **state)
{
    (void)state;
    fmt_bad("", 0, "{}", NULL, 0, "bad topic");
    fmt_bad("0123456789abcdef0123456789abcdef", 32, "{}", NULL, 0, "bad topic");
    fmt_bad("a\"b", 3, "{}", NULL, 0, "bad topic");
    fmt_bad("a b", 3, "{}", NULL, 0, "bad topic");
    fmt_bad("evt.ltr", 7, "[1,2]", NULL, 0, "not a JSON object");
    fmt_bad("evt.ltr", 7, "{\"a\":", NULL, 0, "not a JSON object");
    fmt_bad("evt.ltr", 7, "{} {}", NULL, 0, "not a JSON object");
    fmt_bad("evt.ltr", 7, "", NULL, 0, "not a JSON object");
    fmt_bad("sig.0", 5, "{\"count\":2,\"format\":\"float32le\"}", "1234567", 7, "does not hold");
    fmt_bad("sig.0", 5, "{\"count\":-1,\"format\":\"float32le\"}", "", 0, "does not hold");
    fmt_bad("sig.0", 5, "{\"format\":\"float32le\"}", "1234", 4, "does not hold");
}

static void pick(const char *list, const char *want)
{
    char out[256], err[256] = "";
    if (tw_web_pick_endpoint(list, out, sizeof out, err, sizeof err) != 0)
        fail_msg("%s: %s", list, err);
    assert_string_equal(out, want);
}

static void test_endpoint(void **state)
{
    (void)state;
    pick("tcp://127.0.0.1:5556", "tcp://127.0.0.1:5556");
    pick("  ipc:///run/twitchd/pub , tcp://127.0.0.1:5556", "ipc:///run/twitchd/pub");
    pick("tcp://*:5556", "tcp://127.0.0.1:5556");
    pick("tcp://0.0.0.0:7000,ipc:///x", "tcp://127.0.0.1:7000");
    char out[256], err[256];
    assert_int_equal(tw_web_pick_endpoint("tcp://127.0.0.1:*", out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "ephemeral port"));
    assert_int_equal(tw_web_pick_endpoint(" , x", out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "no endpoint"));
    assert_int_equal(tw_web_pick_endpoint("tcp://127.0.0.1:5556", out, 8, err, sizeof err), -1);
}

static void listen_ok(const char *s, int family, unsigned port, int loopback)
{
    struct sockaddr_storage sa;
    socklen_t len;
    int lb = -1;
    char err[256] = "";
    if (tw_web_parse_listen(s, &sa, &len, &lb, err, sizeof err) != 0)
        fail_msg("%s: %s", s, err);
    assert_int_equal(sa.ss_family, family);
    unsigned p = family == AF_INET ? ntohs(((struct sockaddr_in *)&sa)->sin_port)
                                   : ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    assert_int_equal(p, port);
    assert_int_equal(lb, loopback);
}

static void listen_bad(const char *s, const char *why)
{
    struct sockaddr_storage sa;
    socklen_t len;
    int lb;
    char err[256] = "";
    assert_int_equal(tw_web_parse_listen(s, &sa, &len, &lb, err, sizeof err), -1);
    if (!strstr(err, why))
        fail_msg("%s: reason '%s' lacks '%s'", s, err, why);
}

static void test_listen(void **state)
{
    (void)state;
    listen_ok("127.0.0.1:8080", AF_INET, 8080, 1);
    listen_ok("127.9.9.9:1", AF_INET, 1, 1);
    listen_ok("0.0.0.0:0", AF_INET, 0, 0);
    listen_ok("192.0.2.7:65535", AF_INET, 65535, 0);
    listen_ok("[::1]:9000", AF_INET6, 9000, 1);
    listen_ok("[::]:9000", AF_INET6, 9000, 0);
    {   /* a name: IPv4 or IPv6, whichever the resolver gives first */
        struct sockaddr_storage sa;
        socklen_t len;
        int lb = 0;
        char err[256];
        assert_int_equal(tw_web_parse_listen("localhost:8080", &sa, &len, &lb, err, sizeof err), 0);
        assert_int_equal(lb, 1);
    }
    listen_bad("localhost", "expected HOST:PORT");
    listen_bad("::1:80", "in brackets");
    listen_bad("[::1]80", "expected [IPV6]:PORT");
    listen_bad("127.0.0.1:70000", "0 .. 65535");
    listen_bad("127.0.0.1:", "0 .. 65535");
    listen_bad("127.0.0.1:8o", "0 .. 65535");
    listen_bad(":8080", "no host");
    listen_bad("no-such-host.invalid:80", "no-such-host.invalid");
}

/* ---- control forwarding ---- */

typedef struct {
    void *ctx;
    char endpoint[128];
    char got[256];
    size_t got_len;
} rep_server;

static void *rep_main(void *arg)
{
    rep_server *s = arg;
    void *r = zmq_socket(s->ctx, ZMQ_REP);
    int zero = 0;
    zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(r, s->endpoint), 0);
    int n = zmq_recv(r, s->got, sizeof s->got, 0);
    s->got_len = n > 0 ? (size_t)n : 0;
    const char *rep = "{\"ok\":true,\"sample\":12}";
    zmq_send(r, rep, strlen(rep), 0);
    zmq_close(r);
    return NULL;
}

static int forward(void *ctx, const char *ep, const char *body, int timeout, char **reply)
{
    return tw_web_ctl_forward(ctx, ep, body, strlen(body), timeout, reply);
}

static void expect(void *ctx, const char *ep, const char *body, int status, const char *why)
{
    char *reply = NULL;
    assert_int_equal(forward(ctx, ep, body, 300, &reply), status);
    assert_non_null(reply);
    if (!strstr(reply, "\"ok\":false") || !strstr(reply, why))
        fail_msg("%s -> %s (want '%s')", body, reply, why);
    free(reply);
}

static void test_ctl(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    char dir[] = "/tmp/twweb.XXXXXX";
    assert_non_null(mkdtemp(dir));
    rep_server s = {ctx, "", "", 0};
    snprintf(s.endpoint, sizeof s.endpoint, "ipc://%s/ctl", dir);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, rep_main, &s), 0);
    const char *req = "{\"cmd\": \"mark\", \"label\": \"needle in\"}";
    char *reply = NULL;
    assert_int_equal(forward(ctx, s.endpoint, req, 3000, &reply), 200);
    pthread_join(th, NULL);
    assert_string_equal(reply, "{\"ok\":true,\"sample\":12}");
    free(reply);
    assert_int_equal(s.got_len, strlen(req));
    assert_memory_equal(s.got, req, strlen(req));

    expect(ctx, s.endpoint, "{\"cmd\":\"set\",\"ltr.min_turns\":8}", 403, "cannot be sent from the web page");
    expect(ctx, s.endpoint, "{\"cmd\":\"recalibrate\"}", 403, "use twitchd ctl");
    expect(ctx, s.endpoint, "{\"cmd\":\"status\"", 400, "not valid JSON");
    expect(ctx, s.endpoint, "[\"status\"]", 400, "must be a JSON object");
    expect(ctx, s.endpoint, "{\"label\":\"x\"}", 400, "string \\\"cmd\\\"");
    expect(ctx, s.endpoint, "{\"cmd\":\"mark\",\"label\":\"a\",\"label\":\"b\"}", 400, "duplicate");
    expect(ctx, "", "{\"cmd\":\"status\"}", 503, "no control socket");
    double t0 = tw_mono_s();
    expect(ctx, s.endpoint, "{\"cmd\":\"status\"}", 504, "no reply from the daemon within 300 ms");
    double dt = tw_mono_s() - t0;
    assert_true(dt >= 0.25 && dt < 2.0);
    char *big = malloc(TW_WEB_CTL_MAX_BODY + 10);
    memset(big, ' ', TW_WEB_CTL_MAX_BODY + 9);
    big[TW_WEB_CTL_MAX_BODY + 9] = '\0';
    expect(ctx, s.endpoint, big, 400, "too large");
    free(big);
    char path[160];
    snprintf(path, sizeof path, "%s/ctl", dir);
    unlink(path);
    rmdir(dir);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_sig),
        cmocka_unit_test(test_sse_headers),
        cmocka_unit_test(test_sse_malformed),
        cmocka_unit_test(test_endpoint),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_ctl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
