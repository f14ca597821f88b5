/* multisub: many ZeroMQ SUB sockets in one process, for the load test
 * (tests/system/load_subs.sh).
 *
 *   multisub [-n N] [-s K] [-t IDLE_S] [-o DIR] ENDPOINT[,ENDPOINT...]
 *
 * Opens N SUB sockets (default 64) on one context; reader i connects to
 * endpoint i % (number of endpoints), so a list "ipc://...,tcp://..."
 * spreads them over both transports. The last K sockets (default 1)
 * subscribe to everything and are never read: a client that connected
 * and hung (never-reading socket k connects to endpoint k % number, so
 * the first one to the first endpoint; ZMQ_RCVHWM 1 and a 4 KiB
 * ZMQ_RCVBUF, so that it holds almost nothing itself and the publisher's
 * queue for it fills within seconds). The readers read all they get:
 *   - even-numbered readers subscribe to everything (a live view);
 *   - odd-numbered readers to "evt.", "gap" and "sts" (a logger).
 * Each reader follows `seq` per stream and topic (docs/protocol.md) and
 * counts messages missing (a jump) and out of order (not +1); for sig.*
 * it checks the payload (4 x count bytes) and that consecutive blocks of
 * a channel are contiguous in samples (unless a gap message came in
 * between). With -o DIR, reader i writes DIR/rNN.jsonl: the header of
 * every message that is not sig.*, byte for byte, one per line.
 *
 * stdout: "multisub: ready" once every reader has received a heartbeat
 * (sts); at the end one line per reader:
 *   reader I EP subs=all|evt msgs=N sig=N evt=N sts=N missing=N disorder=N
 *     bad=N sig_discont=N stopping=0|1
 * and a line "multisub: total ...".
 *
 * Exit status: 0 once every reader has received the daemon's last
 * heartbeat ("state":"stopping"; 0.3 s more are read for stragglers);
 * 1 when no reader received anything for IDLE_S seconds (default 10)
 * before that; 3 on SIGINT/SIGTERM; 2 usage or ZeroMQ errors. The summary
 * is printed in every case but usage errors. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_SOCKS 1024
#define MAX_EPS 16
#define MAX_TOPICS 64

typedef struct {
    char name[32];
    char stream[24];
    long long seq;        /* last seq seen */
    long long next_sample; /* sig.*: where the next block must start, -1 unknown */
} topic_state;

typedef struct {
    void *sock;
    int reader;           /* 0: never read */
    int all;              /* subscribed to everything */
    int ep;
    FILE *out;
    topic_state t[MAX_TOPICS];
    int nt;
    long long msgs, sig, evt, sts, missing, disorder, bad, sig_discont;
    int got_sts, stopping;
} sub_t;

static volatile sig_atomic_t stop_flag;
static void on_signal(int s) { (void)s; stop_flag = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static topic_state *topic_get(sub_t *s, const char *name, const char *stream)
{
    for (int i = 0; i < s->nt; i++)
        if (!strcmp(s->t[i].name, name)) {
            if (strcmp(s->t[i].stream, stream) != 0) { /* a restart: start again */
                snprintf(s->t[i].stream, sizeof s->t[i].stream, "%s", stream);
                s->t[i].seq = -1;
                s->t[i].next_sample = -1;
            }
            return &s->t[i];
        }
    if (s->nt == MAX_TOPICS)
        return NULL;
    topic_state *t = &s->t[s->nt++];
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->stream, sizeof t->stream, "%s", stream);
    t->seq = -1;
    t->next_sample = -1;
    return t;
}

/* The text of the value of the top-level key `key` in the compact JSON
 * object h[0..n), or NULL. Enough for the display headers, which are far
 * too many to run through a full parser in a busy test (the others are
 * parsed with jansson). */
static const char *top_value(const char *h, size_t n, const char *key)
{
    size_t klen = strlen(key);
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '"') {
            size_t j = i + 1;
            while (j < n && h[j] != '"')
                j += h[j] == '\\' ? 2 : 1;
            if (j >= n)
                return NULL;
            if (depth == 1 && j + 1 < n && h[j + 1] == ':' && j - i - 1 == klen &&
                !memcmp(h + i + 1, key, klen))
                return j + 2 < n ? h + j + 2 : NULL;
            i = j;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return NULL;
}

/* An integer value of h (see top_value), or -1 when absent or not one. */
static long long top_int(const char *h, size_t n, const char *key)
{
    const char *v = top_value(h, n, key);
    if (!v || *v < '0' || *v > '9')
        return -1;
    char *e;
    long long x = strtoll(v, &e, 10);
    return (*e == ',' || *e == '}') ? x : -1;
}

/* The seq tracking of docs/protocol.md, for one message of topic t. */
static void follow(sub_t *s, topic_state *t, long long seq)
{
    if (!t)
        return;
    if (t->seq >= 0) {
        if (seq > t->seq + 1)
            s->missing += seq - t->seq - 1;
        else if (seq <= t->seq)
            s->disorder++;
    }
    t->seq = seq;
}

/* One whole message from s (frames already received into fr[0..n-1]). */
static void handle(sub_t *s, zmq_msg_t *fr, int n)
{
    s->msgs++;
    if (n < 2 || n > 3 || zmq_msg_size(&fr[0]) == 0 || zmq_msg_size(&fr[0]) >= 32) {
        s->bad++;
        return;
    }
    char topic[32];
    memcpy(topic, zmq_msg_data(&fr[0]), zmq_msg_size(&fr[0]));
    topic[zmq_msg_size(&fr[0])] = '\0';
    const char *hdr = zmq_msg_data(&fr[1]);
    size_t hlen = zmq_msg_size(&fr[1]);
    if (hlen < 2 || hdr[0] != '{' || hdr[hlen - 1] != '}' || memchr(hdr, '\n', hlen)) {
        s->bad++;
        return;
    }

    if (!strncmp(topic, "sig.", 4)) {
        s->sig++;
        const char *st = top_value(hdr, hlen, "stream");
        long long seq = top_int(hdr, hlen, "seq");
        long long count = top_int(hdr, hlen, "count");
        long long decim = top_int(hdr, hlen, "decim");
        long long sample = top_int(hdr, hlen, "sample");
        char stream[24];
        if (!st || *st != '"' || seq < 0 || sample < 0 || count <= 0 || decim <= 0 ||
            n != 3 || zmq_msg_size(&fr[2]) != (size_t)count * 4) {
            s->bad++;
            return;
        }
        size_t k = 0;
        for (st++; k + 1 < sizeof stream && st < hdr + hlen && *st != '"'; st++)
            stream[k++] = *st;
        stream[k] = '\0';
        topic_state *t = topic_get(s, topic, stream);
        follow(s, t, seq);
        if (t) {
            if (t->next_sample >= 0 && sample != t->next_sample)
                s->sig_discont++;
            t->next_sample = sample + count * decim;
        }
        return;
    }

    json_t *h = json_loadb(hdr, hlen, 0, NULL);
    json_t *jseq = h ? json_object_get(h, "seq") : NULL;
    json_t *jstream = h ? json_object_get(h, "stream") : NULL;
    if (!json_is_object(h) || !json_is_integer(jseq) || !json_is_string(jstream) || n != 2) {
        s->bad++;
        json_decref(h);
        return;
    }
    follow(s, topic_get(s, topic, json_string_value(jstream)), json_integer_value(jseq));
    if (!strcmp(topic, "sts")) {
        s->sts++;
        s->got_sts = 1;
        const char *st = json_string_value(json_object_get(h, "state"));
        if (st && !strcmp(st, "stopping"))
            s->stopping = 1;
    } else if (!strncmp(topic, "evt.", 4)) {
        s->evt++;
    } else if (!strcmp(topic, "gap")) {
        /* the display stream may jump over a gap: forget where it was */
        for (int i = 0; i < s->nt; i++)
            s->t[i].next_sample = -1;
    }
    if (s->out) {
        fwrite(hdr, 1, hlen, s->out);
        fputc('\n', s->out);
    }
    json_decref(h);
}

/* Read what is waiting on s without blocking (at most 256 messages).
 * The number of messages read, or -1 on a ZeroMQ error. */
static int drain(sub_t *s)
{
    int got = 0;
    while (got < 256) {
        zmq_msg_t fr[3];
        int n = 0, extra = 0, more = 1;
        while (more) {
            zmq_msg_t tmp, *m = n < 3 ? &fr[n] : &tmp;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, s->sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                int e = errno;
                zmq_msg_close(m);
                for (int i = 0; i < n && i < 3; i++)
                    zmq_msg_close(&fr[i]);
                if (n == 0 && (e == EAGAIN || e == EINTR))
                    return got;
                fprintf(stderr, "multisub: recv: %s\n", zmq_strerror(e));
                return -1;
            }
            more = zmq_msg_more(m);
            if (n < 3)
                n++;
            else {
                extra = 1;
                zmq_msg_close(m);
            }
        }
        handle(s, fr, extra ? 4 : n); /* 4: too many frames, counted bad */
        for (int i = 0; i < n; i++)
            zmq_msg_close(&fr[i]);
        got++;
    }
    return got;
}

static int usage(void)
{
    fprintf(stderr, "usage: multisub [-n N] [-s K] [-t IDLE_S] [-o DIR] ENDPOINT[,ENDPOINT...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int n = 64, stalled = 1;
    double idle_s = 10;
    const char *dir = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "n:s:t:o:")) != -1) {
        switch (opt) {
        case 'n': n = atoi(optarg); break;
        case 's': stalled = atoi(optarg); break;
        case 't': idle_s = atof(optarg); break;
        case 'o': dir = optarg; break;
        default: return usage();
        }
    }
    if (optind + 1 != argc || n < 1 || n > MAX_SOCKS || stalled < 0 || stalled >= n ||
        idle_s <= 0)
        return usage();

    char eps[MAX_EPS][256];
    int neps = 0;
    for (char *p = argv[optind], *e; *p; p = e + 1) {
        e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (neps == MAX_EPS || len == 0 || len >= sizeof eps[0])
            return usage();
        memcpy(eps[neps], p, len);
        eps[neps++][len] = '\0';
        if (!e)
            break;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    void *ctx = zmq_ctx_new();
    sub_t *subs = calloc((size_t)n, sizeof *subs);
    zmq_pollitem_t *items = calloc((size_t)n, sizeof *items);
    if (!ctx || !subs || !items)
        return 2;
    int nreaders = n - stalled;
    for (int i = 0; i < n; i++) {
        sub_t *s = &subs[i];
        s->reader = i < nreaders;
        s->all = !s->reader || i % 2 == 0;
        s->ep = s->reader ? i % neps : (i - nreaders) % neps;
        s->sock = zmq_socket(ctx, ZMQ_SUB);
        int zero = 0;
        if (!s->sock || zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero) != 0) {
            fprintf(stderr, "multisub: socket: %s\n", zmq_strerror(errno));
            return 2;
        }
        if (!s->reader) {
            /* hold as little as possible on this side, so that the
             * publisher's queue for it fills (to its SNDHWM) within seconds */
            int one = 1, small = 4096;
            zmq_setsockopt(s->sock, ZMQ_RCVHWM, &one, sizeof one);
            zmq_setsockopt(s->sock, ZMQ_RCVBUF, &small, sizeof small);
        }
        if (s->all)
            zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, "", 0);
        else {
            zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, "evt.", 4);
            zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, "gap", 3);
            zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, "sts", 3);
        }
        if (zmq_connect(s->sock, eps[s->ep]) != 0) {
            fprintf(stderr, "multisub: connect %s: %s\n", eps[s->ep], zmq_strerror(errno));
            return 2;
        }
        if (dir && s->reader) {
            char path[4096];
            snprintf(path, sizeof path, "%s/r%02d.jsonl", dir, i);
            if (!(s->out = fopen(path, "w"))) {
                fprintf(stderr, "multisub: %s: %s\n", path, strerror(errno));
                return 2;
            }
        }
        items[i].socket = s->sock;
        items[i].events = ZMQ_POLLIN;
    }

    int rc = 0, ready = 0;
    double last_rx = now_s(), all_stopped_at = -1;
    for (;;) {
        if (stop_flag) {
            rc = 3;
            break;
        }
        int pr = zmq_poll(items, nreaders, 200);
        if (pr < 0 && errno != EINTR) {
            fprintf(stderr, "multisub: poll: %s\n", zmq_strerror(errno));
            rc = 2;
            break;
        }
        for (int i = 0; pr > 0 && i < nreaders; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            int g = drain(&subs[i]);
            if (g < 0) {
                rc = 2;
                goto out;
            }
            if (g > 0)
                last_rx = now_s();
        }
        int nsts = 0, nstop = 0;
        for (int i = 0; i < nreaders; i++) {
            nsts += subs[i].got_sts;
            nstop += subs[i].stopping;
        }
        if (!ready && nsts == nreaders) {
            ready = 1;
            printf("multisub: ready (%d readers, %d never read)\n", nreaders, stalled);
            fflush(stdout);
        }
        double t = now_s();
        if (nstop == nreaders) {
            if (all_stopped_at < 0)
                all_stopped_at = t;
            else if (t - all_stopped_at > 0.3)
                break;
        }
        if (t - last_rx > idle_s) {
            fprintf(stderr, "multisub: nothing received for %.1f s\n", idle_s);
            rc = 1;
            break;
        }
    }
out:;
    long long tot[8] = {0};
    for (int i = 0; i < nreaders; i++) {
        sub_t *s = &subs[i];
        printf("reader %d %s subs=%s msgs=%lld sig=%lld evt=%lld sts=%lld missing=%lld "
               "disorder=%lld bad=%lld sig_discont=%lld stopping=%d\n",
               i, eps[s->ep], s->all ? "all" : "evt", s->msgs, s->sig, s->evt, s->sts,
               s->missing, s->disorder, s->bad, s->sig_discont, s->stopping);
        long long v[8] = {s->msgs, s->sig, s->evt, s->sts, s->missing, s->disorder, s->bad,
                          s->sig_discont};
        for (int k = 0; k < 8; k++)
            tot[k] += v[k];
        if (s->out && fclose(s->out) != 0) {
            fprintf(stderr, "multisub: write: %s\n", strerror(errno));
            rc = 2;
        }
    }
    printf("multisub: total readers=%d stalled=%d msgs=%lld sig=%lld evt=%lld sts=%lld "
           "missing=%lld disorder=%lld bad=%lld sig_discont=%lld\n",
           nreaders, stalled, tot[0], tot[1], tot[2], tot[3], tot[4], tot[5], tot[6], tot[7]);
    for (int i = 0; i < n; i++)
        zmq_close(subs[i].sock);
    zmq_ctx_term(ctx);
    free(items);
    free(subs);
    return rc;
}
