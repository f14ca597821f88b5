/* web_sub.c: see web_sub.h. */
#include "web_sub.h"
#include "thread_name.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "log.h"
#include "web_sse.h"
#include "tw_clock.h"

#define SUB_POLL_MS 100   /* longest wait between checks of the stop flag */
#define SUB_BATCH 1000    /* messages taken in a row before the flag is checked */
#define SUB_MAX_FRAMES 3  /* [topic][header][payload] */

struct tw_web_sub {
    void *sock;
    tw_web_hub *hub;
    pthread_t thread;
    atomic_int stop;
    uint64_t received, malformed; /* thread only */
    double last_msg;              /* CLOCK_MONOTONIC s, < 0: none yet */
};

int tw_web_pick_endpoint(const char *list, char *out, size_t len, char *err,
                         size_t errlen)
{
    while (*list == ' ' || *list == '\t')
        list++;
    const char *end = strchr(list, ',');
    size_t n = end ? (size_t)(end - list) : strlen(list);
    while (n && (list[n - 1] == ' ' || list[n - 1] == '\t'))
        n--;
    if (n == 0) {
        tw_set_err(err, errlen, "publish.endpoint: no endpoint to connect to");
        return -1;
    }
    char ep[512];
    if (n >= sizeof ep) {
        tw_set_err(err, errlen, "publish.endpoint: endpoint too long");
        return -1;
    }
    memcpy(ep, list, n);
    ep[n] = '\0';
    char fixed[600];
    const char *use = ep;
    if (!strncmp(ep, "tcp://", 6)) {
        const char *host = ep + 6, *colon = strrchr(host, ':');
        if (colon && !strcmp(colon + 1, "*")) {
            tw_set_err(err, errlen, "publish.endpoint '%s': an ephemeral port cannot be "
                       "connected to; give the port", ep);
            return -1;
        }
        if (colon && ((colon - host == 1 && host[0] == '*') ||
                      (colon - host == 7 && !strncmp(host, "0.0.0.0", 7)))) {
            snprintf(fixed, sizeof fixed, "tcp://127.0.0.1%s", colon);
            use = fixed;
        }
    }
    if (strlen(use) >= len) {
        tw_set_err(err, errlen, "publish.endpoint: endpoint too long");
        return -1;
    }
    snprintf(out, len, "%s", use);
    return 0;
}

/* Take one whole message off the socket (non-blocking). 1: got one, 0:
 * none waiting, -1: error. Frames beyond SUB_MAX_FRAMES are read and
 * counted (the message is then malformed). */
static int recv_msg(void *sock, zmq_msg_t *f, int *nframes, int *extra)
{
    *nframes = 0;
    *extra = 0;
    int more = 1;
    while (more) {
        zmq_msg_t tmp;
        zmq_msg_t *m = *nframes < SUB_MAX_FRAMES ? &f[*nframes] : &tmp;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, *nframes == 0 && !*extra ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(m);
            return zmq_errno() == EAGAIN && *nframes == 0 ? 0 : -1;
        }
        more = zmq_msg_more(m);
        if (m == &tmp) {
            zmq_msg_close(&tmp);
            (*extra)++;
        } else {
            (*nframes)++;
        }
    }
    return 1;
}

static void handle(tw_web_sub *s, zmq_msg_t *f, int nframes, int extra)
{
    s->received++;
    s->last_msg = tw_mono_s();
    if (nframes < 2 || extra) {
        s->malformed++;
        return;
    }
    char *rec;
    size_t len;
    char why[256];
    int rc = tw_web_sse_format(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), zmq_msg_data(&f[1]),
                               zmq_msg_size(&f[1]), nframes == 3 ? zmq_msg_data(&f[2]) : NULL,
                               nframes == 3 ? zmq_msg_size(&f[2]) : 0, &rec, &len, why,
                               sizeof why);
    if (rc != 0) {
        s->malformed++;
        if (rc == -1 && s->malformed <= 10)
            tw_log(TW_LOG_WARNING, "web: skipped a malformed message: %s", why);
        return;
    }
    tw_web_hub_publish(s->hub, tw_web_item_new(rec, len));
    free(rec);
}

static void heartbeat(tw_web_sub *s)
{
    tw_web_hub_stats st;
    tw_web_hub_get_stats(s->hub, &st);
    char age[32] = "null";
    if (s->last_msg >= 0)
        snprintf(age, sizeof age, "%.3f", tw_mono_s() - s->last_msg);
    char json[256], rec[300];
    snprintf(json, sizeof json,
             "{\"topic\":\"web.hb\",\"clients\":%zu,\"received\":%llu,\"malformed\":%llu,"
             "\"dropped\":%llu,\"daemon_age_s\":%s}",
             st.clients, (unsigned long long)s->received, (unsigned long long)s->malformed,
             (unsigned long long)st.dropped, age);
    int n = tw_web_sse_record(rec, sizeof rec, json);
    if (n > 0 && (size_t)n < sizeof rec)
        tw_web_hub_publish(s->hub, tw_web_item_new(rec, (size_t)n));
}

static void *run(void *arg)
{
    tw_thread_name("tw-websub");
    tw_web_sub *s = arg;
    double next_hb = tw_mono_s();
    while (!atomic_load(&s->stop)) {
        zmq_pollitem_t pi = {s->sock, 0, ZMQ_POLLIN, 0};
        double now = tw_mono_s();
        if (now >= next_hb) {
            heartbeat(s);
            next_hb = now + TW_WEB_HB_MS / 1000.0;
        }
        long wait = (long)((next_hb - now) * 1000.0) + 1;
        if (wait > SUB_POLL_MS)
            wait = SUB_POLL_MS;
        int rc = zmq_poll(&pi, 1, wait);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            tw_log(TW_LOG_ERR, "web: zmq_poll: %s", zmq_strerror(zmq_errno()));
            break;
        }
        for (int i = 0; i < SUB_BATCH && !atomic_load(&s->stop); i++) {
            zmq_msg_t f[SUB_MAX_FRAMES];
            int nframes, extra;
            int got = recv_msg(s->sock, f, &nframes, &extra);
            if (got == 1)
                handle(s, f, nframes, extra);
            for (int k = 0; k < nframes; k++)
                zmq_msg_close(&f[k]);
            if (got != 1)
                break;
        }
    }
    zmq_close(s->sock);
    return NULL;
}

tw_web_sub *tw_web_sub_start(void *zctx, const char *endpoint, tw_web_hub *hub,
                             char *err, size_t errlen)
{
    tw_web_sub *s = calloc(1, sizeof *s);
    if (!s) {
        tw_set_err(err, errlen, "out of memory");
        return NULL;
    }
    s->hub = hub;
    s->last_msg = -1;
    atomic_init(&s->stop, 0);
    s->sock = zmq_socket(zctx, ZMQ_SUB);
    if (!s->sock) {
        tw_set_err(err, errlen, "zmq_socket: %s", zmq_strerror(zmq_errno()));
        free(s);
        return NULL;
    }
    int zero = 0, hwm = TW_WEB_RCVHWM;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(s->sock, endpoint) != 0) {
        tw_set_err(err, errlen, "publish.endpoint '%s': cannot connect: %s", endpoint,
                   zmq_strerror(zmq_errno()));
        zmq_close(s->sock);
        free(s);
        return NULL;
    }
    /* pthread_create is the full barrier libzmq asks for when a socket
     * changes thread */
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        tw_set_err(err, errlen, "cannot start the subscriber thread");
        zmq_close(s->sock);
        free(s);
        return NULL;
    }
    return s;
}

void tw_web_sub_stop(tw_web_sub *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    free(s);
}
