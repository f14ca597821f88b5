/* publish.c: see publish.h. One PUB socket bound to every endpoint of the
 * list, one thread popping the queue and sending. */
#include "publish.h"
#include "thread_name.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "ipcfile.h"
#include "log.h"

#define SNDHWM_MAX 1000000   /* messages, as config.c allows */
#define IPC_MODE 0660        /* file mode of an ipc socket file */
#define SEND_RETRIES 100     /* tries for the 2nd/3rd frame of a message */

struct tw_pub {
    void *ctx;
    void *sock;              /* the publisher thread's, once it runs */
    tw_mq *in;
    pthread_t thread;
    size_t n_ep;
    char ep[TW_PUB_MAX_ENDPOINTS][TW_PUB_ENDPOINT_LEN];   /* as bound */
    char ipc[TW_PUB_MAX_ENDPOINTS][TW_PUB_ENDPOINT_LEN];  /* file to remove
                                                             at stop, or "" */
    _Atomic uint64_t sent, dropped, bytes;
};


/* Split the list into p->ep (trimmed). 0 or -1 with err set. */
static int parse_list(tw_pub *p, const char *list, char *err, size_t errlen)
{
    const char *next = list;
    for (;;) {
        const char *s;
        size_t n;
        next = tw_list_item(next, &s, &n);
        if (n == 0) {
            tw_set_err(err, errlen, "endpoint list '%s': empty item", list);
            return -1;
        }
        if (p->n_ep == TW_PUB_MAX_ENDPOINTS) {
            tw_set_err(err, errlen, "endpoint list '%s': more than %d endpoints",
                    list, TW_PUB_MAX_ENDPOINTS);
            return -1;
        }
        if (n >= TW_PUB_ENDPOINT_LEN) {
            tw_set_err(err, errlen, "endpoint '%.*s...': longer than %d bytes", 40,
                    s, TW_PUB_ENDPOINT_LEN - 1);
            return -1;
        }
        char *ep = p->ep[p->n_ep++];
        memcpy(ep, s, n);
        ep[n] = '\0';
        char why[200];
        if (tw_endpoint_check(ep, 1, why, sizeof why) != 0) {
            tw_set_err(err, errlen, "endpoint '%s': %s", ep, why);
            return -1;
        }
        if (!next)
            return 0;
    }
}

/* Closes the socket at once (no linger), ends the context, removes the
 * ipc files made so far, frees p. For start's error path. */
static void abandon(tw_pub *p)
{
    if (p->sock) {
        int zero = 0;
        zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(p->sock);
    }
    if (p->ctx)
        zmq_ctx_term(p->ctx);
    for (size_t i = 0; i < p->n_ep; i++)
        tw_ipc_cleanup(p->ipc[i]);
    free(p);
}

/* Send one message as [topic][header][payload?]. 0, or -1 when libzmq
 * refused it (counted by the caller). */
static int send_msg(tw_pub *p, const tw_msg *m)
{
    size_t tl = strnlen(m->topic, sizeof m->topic);
    const int more = m->payload != NULL;
    const void *part[3] = {m->topic, m->header, m->payload};
    const size_t len[3] = {tl, m->header_len, m->payload_len};
    const int nparts = more ? 3 : 2;
    for (int i = 0; i < nparts; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < nparts ? ZMQ_SNDMORE : 0);
        int tries = 0;
        while (zmq_send(p->sock, part[i], len[i], flags) < 0) {
            /* The first frame may simply be dropped. Once it is out, the
             * message must be completed or later messages would be glued
             * onto it: retry what can be retried. */
            if (i == 0 || (errno != EAGAIN && errno != EINTR) ||
                ++tries > SEND_RETRIES) {
                int e = errno;
                uint64_t d = atomic_fetch_add_explicit(&p->dropped, 1,
                                                       memory_order_relaxed);
                if (d == 0 || i > 0)
                    tw_log(TW_LOG_ERR, "publish: cannot send %s (frame %d): %s",
                           m->topic, i + 1, zmq_strerror(e));
                return -1;
            }
        }
    }
    atomic_fetch_add_explicit(&p->sent, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->bytes, tl + m->header_len + (more ? m->payload_len : 0),
                              memory_order_relaxed);
    return 0;
}

static void *pub_main(void *arg)
{
    tw_thread_name("tw-publish");
    tw_pub *p = arg;
    tw_msg *m;
    while ((m = tw_mq_pop(p->in, -1)) != NULL) {
        send_msg(p, m);
        tw_msg_free(m);
    }
    zmq_close(p->sock); /* linger: TW_PUB_LINGER_MS, waited for in stop */
    return NULL;
}

tw_pub *tw_pub_start_curve(const char *endpoints, int sndhwm, tw_mq *in, tw_curve *curve,
                           char *err, size_t errlen)
{
    tw_set_err(err, errlen, "%s", "");
    if (!endpoints || !in) {
        tw_set_err(err, errlen, "no endpoint list or no queue");
        return NULL;
    }
    if (sndhwm < 1 || sndhwm > SNDHWM_MAX) {
        tw_set_err(err, errlen, "sndhwm %d: out of range (allowed 1 .. %d messages)",
                sndhwm, SNDHWM_MAX);
        return NULL;
    }
    tw_pub *p = calloc(1, sizeof *p);
    if (!p) {
        tw_set_err(err, errlen, "out of memory");
        return NULL;
    }
    p->in = in;
    atomic_init(&p->sent, 0);
    atomic_init(&p->dropped, 0);
    atomic_init(&p->bytes, 0);
    if (parse_list(p, endpoints, err, errlen) != 0) {
        free(p);
        return NULL;
    }
    size_t n_ep = p->n_ep;
    p->n_ep = 0; /* counts the endpoints bound from here on */

    p->ctx = zmq_ctx_new();
    if (!p->ctx || !(p->sock = zmq_socket(p->ctx, ZMQ_PUB))) {
        tw_set_err(err, errlen, "cannot create a ZeroMQ PUB socket: %s",
                zmq_strerror(errno));
        abandon(p);
        return NULL;
    }
    int linger = TW_PUB_LINGER_MS;
    if (zmq_setsockopt(p->sock, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) != 0 ||
        zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        tw_set_err(err, errlen, "cannot set ZMQ_SNDHWM/ZMQ_LINGER: %s",
                zmq_strerror(errno));
        abandon(p);
        return NULL;
    }
    if (curve && tw_curve_server(curve, p->ctx, p->sock, err, errlen) != 0) {
        abandon(p);
        return NULL;
    }

    for (size_t i = 0; i < n_ep; i++) {
        char want[TW_PUB_ENDPOINT_LEN], why[512];
        memcpy(want, p->ep[i], sizeof want);
        const char *file = tw_ipc_file(want);
        if (file && tw_ipc_prepare(file, why, sizeof why) != 0) {
            tw_set_err(err, errlen, "endpoint '%s': %s", want, why);
            abandon(p);
            return NULL;
        }
        if (zmq_bind(p->sock, want) != 0) {
            tw_set_err(err, errlen, "endpoint '%s': cannot bind: %s", want,
                    zmq_strerror(errno));
            abandon(p);
            return NULL;
        }
        size_t sz = sizeof p->ep[i];
        if (zmq_getsockopt(p->sock, ZMQ_LAST_ENDPOINT, p->ep[i], &sz) != 0)
            memcpy(p->ep[i], want, sizeof want);
        p->n_ep = i + 1;
        const char *bound = tw_ipc_file(p->ep[i]);
        if (bound) {
            snprintf(p->ipc[i], sizeof p->ipc[i], "%s", bound);
            if (chmod(bound, IPC_MODE) != 0)
                tw_log(TW_LOG_WARNING, "publish: endpoint '%s': cannot chmod %o: %s",
                       p->ep[i], IPC_MODE, strerror(errno));
        } else if (!curve && !strncmp(want, "tcp://", 6) && !tw_tcp_loopback(want)) {
            tw_log(TW_LOG_WARNING,
                   "publish: endpoint '%s' is not loopback: anyone who reaches it "
                   "can subscribe (set curve.enable for encryption and an allowlist)",
                   want);
        }
    }

    /* The thread gets no asynchronous signals: main() handles them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->thread, NULL, pub_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        tw_set_err(err, errlen, "cannot start the publisher thread: %s", strerror(rc));
        abandon(p);
        return NULL;
    }
    return p;
}

void tw_pub_stop(tw_pub *p)
{
    if (!p)
        return;
    tw_mq_close(p->in);
    pthread_join(p->thread, NULL);
    zmq_ctx_term(p->ctx); /* waits up to the linger for unsent frames */
    for (size_t i = 0; i < p->n_ep; i++)
        tw_ipc_cleanup(p->ipc[i]);
    free(p);
}

void tw_pub_get_stats(const tw_pub *p, tw_pub_stats *s)
{
    tw_pub *w = (tw_pub *)p;
    s->sent = atomic_load_explicit(&w->sent, memory_order_relaxed);
    s->dropped = atomic_load_explicit(&w->dropped, memory_order_relaxed);
    s->bytes = atomic_load_explicit(&w->bytes, memory_order_relaxed);
}

size_t tw_pub_get_endpoints(const tw_pub *p, char out[][TW_PUB_ENDPOINT_LEN],
                            size_t max)
{
    for (size_t i = 0; i < p->n_ep && i < max; i++)
        memcpy(out[i], p->ep[i], TW_PUB_ENDPOINT_LEN);
    return p->n_ep;
}
