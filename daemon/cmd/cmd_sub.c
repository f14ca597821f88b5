/* cmd_sub.c: `twitchd sub`: the reference subscriber of docs/protocol.md.
 *
 *   twitchd sub [--samples] [--final] [--count N] [--timeout S] [ENDPOINT] [TOPIC]...
 *
 * Connects a SUB socket, prints one JSON object per message per line on
 * stdout (line-buffered): the header as the publisher sent it (the same
 * bytes, unless it spanned several lines), with "topic" added when the
 * header lacks it and, for messages with a payload frame,
 * "payload_bytes" (and with --samples, for sig.* topics, "samples": the
 * float32 little-endian values). It follows "seq" per topic and reports
 * lost, repeated or reordered messages on stderr, then goes on.
 *
 * Exit status: 0 after --count messages, on SIGINT/SIGTERM, or never; 1
 * when --timeout expired with nothing received; 64 usage; 70 ZeroMQ
 * failure; 74 cannot write stdout.
 */
#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "cli.h"
#include "commands.h"
#include "curve.h"
#include "tw_clock.h"

#define SUB_DEFAULT_ENDPOINT "tcp://127.0.0.1:5556"
#define SUB_RCVHWM 100000    /* messages buffered before libzmq drops */
#define SUB_POLL_MS 200      /* longest wait between checks of the flags */
#define SUB_MAX_TOPICS 4096  /* topics whose sequence numbers are followed */

static const char usage[] =
    "usage: twitchd sub [--samples] [--final] [--count N] [--timeout S]\n"
    "                   [--curve-server KEY --curve-key FILE] [ENDPOINT] [TOPIC]...\n"
    "\n"
    "Subscribe to a twitchd publisher (or any publisher of docs/protocol.md)\n"
    "and print one JSON object per message per line on stdout: the header,\n"
    "plus \"topic\" when the header lacks it, plus \"payload_bytes\" for messages\n"
    "with a binary payload (sig.* display samples). Lost, repeated or\n"
    "reordered messages (per-topic \"seq\") are reported on stderr.\n"
    "\n"
    "  ENDPOINT        where to connect, default " SUB_DEFAULT_ENDPOINT "\n"
    "                  (the first argument containing \"://\"; a comma-separated\n"
    "                  list connects to each)\n"
    "  TOPIC           topic prefixes to subscribe to, e.g. evt. or sig.0\n"
    "                  (default: everything)\n"
    "      --samples   add \"samples\": [...] (the float32 values) to sig.* messages\n"
    "      --final     print final records only: no onset notices (evt.start.*)\n"
    "                  nor their cancellations (evt.cancel)\n"
    "      --count N   exit 0 after printing N messages\n"
    "      --timeout S exit 1 when nothing arrives for S seconds (default: wait)\n"
    "      --curve-server KEY  the daemon's CURVE public key (40 Z85 characters, or\n"
    "                  its .pub file), when curve.enable is set\n"
    "      --curve-key FILE    this client's key pair (twitchd keygen; its public key\n"
    "                  must be in the daemon's allowlist)\n"
    "  -h, --help      this text\n"
    "\n"
    "Exit status: 0 after --count messages or on SIGINT/SIGTERM, 1 on --timeout,\n"
    "64 usage error, 70 ZeroMQ error, 74 cannot write stdout.\n";

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Sequence numbers are followed per (stream, topic): a restarted
 * publisher, or a second one on a comma-separated endpoint list, has its
 * own. */
typedef struct {
    char *key;      /* stream id, '\n', topic */
    json_int_t seq; /* the highest seen */
} track;

typedef struct {
    track *t;
    size_t n, cap;
    int full_warned;
    char **streams; /* stream ids seen, for the "new stream" notice */
    size_t n_streams;
} tracker;

/* Writes s[0..n) as a JSON string (quotes included); bytes outside
 * printable ASCII, '"' and '\\' are escaped (a non-ASCII byte b as
 * \u00bb). */
static void put_json_string(FILE *f, const char *s, size_t n)
{
    putc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            fprintf(f, "\\u%04x", c);
        else
            putc(c, f);
    }
    putc('"', f);
}

/* The shortest decimal that reads back as the same float32 (at most 9
 * significant digits); null for NaN and infinities (not JSON numbers). */
static void put_float(FILE *f, float v)
{
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (prec == 9 || strtof(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

/* Topic frames are not NUL-terminated: a printable copy for messages. */
static void topic_text(const zmq_msg_t *m, char *buf, size_t len)
{
    size_t n = zmq_msg_size((zmq_msg_t *)m);
    const char *s = zmq_msg_data((zmq_msg_t *)m);
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < len; i++)
        buf[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    buf[j] = '\0';
}

/* The stream id as text: a string's value, other JSON as encoded, "" when
 * absent. NULL: no memory. */
static char *stream_text(json_t *v)
{
    if (!v)
        return strdup("");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

static track *find_or_add(tracker *tr, const char *key, int *added)
{
    *added = 0;
    for (size_t i = 0; i < tr->n; i++)
        if (!strcmp(tr->t[i].key, key))
            return &tr->t[i];
    if (tr->n == SUB_MAX_TOPICS) {
        if (!tr->full_warned)
            fprintf(stderr, "sub: more than %d topics: the sequence numbers of new ones "
                    "are not checked\n", SUB_MAX_TOPICS);
        tr->full_warned = 1;
        return NULL;
    }
    if (tr->n == tr->cap) {
        size_t cap = tr->cap ? 2 * tr->cap : 16;
        track *nt = realloc(tr->t, cap * sizeof *nt);
        if (!nt)
            return NULL; /* no memory: this message is not checked */
        tr->t = nt;
        tr->cap = cap;
    }
    char *k = strdup(key);
    if (!k)
        return NULL;
    tr->t[tr->n].key = k;
    *added = 1;
    return &tr->t[tr->n++];
}

/* A notice when a stream id not seen before appears (not for the first). */
static void note_stream(tracker *tr, const char *id)
{
    for (size_t i = 0; i < tr->n_streams; i++)
        if (!strcmp(tr->streams[i], id))
            return;
    if (tr->n_streams > 0)
        fprintf(stderr, "sub: new stream \"%s\": a publisher (re)started, its sequence "
                "numbers start again\n", id);
    if (tr->n_streams == SUB_MAX_TOPICS)
        return;
    char **ns = realloc(tr->streams, (tr->n_streams + 1) * sizeof *ns);
    if (!ns)
        return;
    tr->streams = ns;
    if ((ns[tr->n_streams] = strdup(id)) != NULL)
        tr->n_streams++;
}

/* Follow one header's "seq" per (stream, topic); report on stderr. */
static void check_seq(tracker *tr, const char *topic, json_t *hdr)
{
    char *id = stream_text(json_object_get(hdr, "stream"));
    if (!id)
        return;
    note_stream(tr, id);
    json_t *jseq = json_object_get(hdr, "seq");
    size_t kl = strlen(id) + 1 + strlen(topic) + 1;
    char *key = json_is_integer(jseq) ? malloc(kl) : NULL;
    if (!key) {
        free(id);
        return;
    }
    snprintf(key, kl, "%s\n%s", id, topic);
    free(id);
    json_int_t seq = json_integer_value(jseq);
    int added;
    track *t = find_or_add(tr, key, &added);
    free(key);
    if (!t)
        return;
    if (added) {
        t->seq = seq; /* the first message seen: a late joiner starts anywhere */
        return;
    }
    if (seq > t->seq + 1) {
        json_int_t lost = seq - t->seq - 1;
        fprintf(stderr, "sub: topic %s: %" JSON_INTEGER_FORMAT " message%s missing (seq %"
                JSON_INTEGER_FORMAT " -> %" JSON_INTEGER_FORMAT ")\n",
                topic, lost, lost == 1 ? "" : "s", t->seq, seq);
    } else if (seq <= t->seq) {
        /* keep the highest: what follows it in order is not a gap */
        fprintf(stderr, "sub: topic %s: seq %" JSON_INTEGER_FORMAT " after %"
                JSON_INTEGER_FORMAT " (repeated or out of order)\n", topic, seq, t->seq);
        return;
    }
    t->seq = seq;
}

static void tracker_free(tracker *tr)
{
    for (size_t i = 0; i < tr->n; i++)
        free(tr->t[i].key);
    free(tr->t);
    for (size_t i = 0; i < tr->n_streams; i++)
        free(tr->streams[i]);
    free(tr->streams);
}

/* Print one message (2 or 3 frames). 1 printed, 0 skipped (reported, or
 * with `final` a provisional message: a notice or its cancellation), -1
 * stdout failed. */
static int print_msg(tracker *tr, zmq_msg_t *fr, int nfr, int samples, int final)
{
    char topic[256];
    topic_text(&fr[0], topic, sizeof topic);
    const char *h = zmq_msg_data(&fr[1]);
    size_t hl = zmq_msg_size(&fr[1]);
    json_error_t je;
    json_t *obj = json_loadb(h, hl, 0, &je);
    if (!json_is_object(obj)) {
        fprintf(stderr, "sub: topic %s: header is not a JSON object%s%s: skipped\n", topic,
                obj ? "" : ": ", obj ? "" : je.text);
        json_decref(obj);
        return 0;
    }
    check_seq(tr, topic, obj);
    if (final && (!strncmp(topic, "evt.start.", 10) || !strcmp(topic, "evt.cancel"))) {
        json_decref(obj);
        return 0; /* followed (seq), not printed */
    }

    /* The header's own text, or a one-line dump if it spans lines. */
    char *dumped = NULL;
    if (memchr(h, '\n', hl) || memchr(h, '\r', hl)) {
        dumped = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!dumped) {
            json_decref(obj);
            fprintf(stderr, "sub: out of memory\n");
            return 0;
        }
        h = dumped;
        hl = strlen(dumped);
    }
    while (hl && (*h == ' ' || *h == '\t' || *h == '\n' || *h == '\r'))
        h++, hl--;
    while (hl && (h[hl - 1] == ' ' || h[hl - 1] == '\t' || h[hl - 1] == '\n' ||
                  h[hl - 1] == '\r'))
        hl--;
    /* a JSON object's text starts with '{' and ends with '}' */
    const char *inner = h + 1;
    size_t inner_len = hl - 2;
    int any = json_object_size(obj) > 0;
    int has_topic = json_object_get(obj, "topic") != NULL;
    json_t *jc = json_object_get(obj, "count");
    json_int_t count = json_is_integer(jc) ? json_integer_value(jc) : -1;
    json_int_t seq = json_is_integer(json_object_get(obj, "seq"))
                         ? json_integer_value(json_object_get(obj, "seq")) : -1;
    json_decref(obj);

    FILE *o = stdout;
    putc('{', o);
    if (!has_topic) {
        fputs("\"topic\":", o);
        put_json_string(o, zmq_msg_data(&fr[0]), zmq_msg_size(&fr[0]));
        if (any)
            putc(',', o);
        any = 1;
    }
    fwrite(inner, 1, inner_len, o);
    if (nfr == 3) {
        size_t pl = zmq_msg_size(&fr[2]);
        fprintf(o, "%s\"payload_bytes\":%zu", any ? "," : "", pl);
        int is_sig = !strncmp(topic, "sig.", 4);
        if (is_sig && pl % 4 != 0)
            fprintf(stderr, "sub: topic %s seq %" JSON_INTEGER_FORMAT ": payload of %zu bytes "
                    "is not a whole number of float32\n", topic, seq, pl);
        else if (is_sig && count >= 0 && (size_t)count != pl / 4)
            fprintf(stderr, "sub: topic %s seq %" JSON_INTEGER_FORMAT ": \"count\" %"
                    JSON_INTEGER_FORMAT " but %zu values in the payload\n", topic, seq,
                    count, pl / 4);
        if (samples && is_sig && pl % 4 == 0) {
            const unsigned char *b = zmq_msg_data(&fr[2]);
            fputs(",\"samples\":[", o);
            for (size_t i = 0; i < pl / 4; i++) {
                uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                             (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
                float v;
                memcpy(&v, &u, sizeof v);
                if (i)
                    putc(',', o);
                put_float(o, v);
            }
            putc(']', o);
        }
    }
    putc('}', o);
    putc('\n', o);
    free(dumped);
    return ferror(o) ? -1 : 1;
}

/* Parse a positive number; 0 or -1. */
static int parse_pos(const char *s, double *v)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || !(x > 0) || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

int tw_cmd_sub(int argc, char **argv)
{
    static const struct option opts[] = {
        {"samples", no_argument, NULL, 's'},
        {"final", no_argument, NULL, 'f'},
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"curve-server", required_argument, NULL, 'S'},
        {"curve-key", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *curve_server = NULL, *curve_key = NULL;
    int samples = 0, final = 0;
    long long count = -1;
    double timeout = -1;
    int o;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            samples = 1;
            break;
        case 'f':
            final = 1;
            break;
        case 'S':
            curve_server = optarg;
            break;
        case 'K':
            curve_key = optarg;
            break;
        case 'n': {
            char *end;
            errno = 0;
            count = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || count < 1) {
                fprintf(stderr, "twitchd sub: --count '%s': not a whole number >= 1\n", optarg);
                return EX_USAGE;
            }
            break;
        }
        case 't':
            if (parse_pos(optarg, &timeout) != 0) {
                fprintf(stderr, "twitchd sub: --timeout '%s': not a number of seconds > 0\n",
                        optarg);
                return EX_USAGE;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case ':':
            fprintf(stderr, "twitchd sub: option '%s' needs a value (see twitchd sub --help)\n",
                    argv[optind - 1]);
            return EX_USAGE;
        default:
            fprintf(stderr, "twitchd sub: unknown option '%s' (see twitchd sub --help)\n",
                    argv[optind - 1]);
            return EX_USAGE;
        }
    }
    const char *endpoint = SUB_DEFAULT_ENDPOINT;
    int first_topic = optind;
    if (optind < argc && strstr(argv[optind], "://")) {
        endpoint = argv[optind];
        first_topic = optind + 1;
    }
    for (int i = first_topic; i < argc; i++)
        if (strstr(argv[i], "://")) {
            fprintf(stderr, "twitchd sub: '%s': only the first argument may be an endpoint "
                    "(connect to several with a comma-separated list)\n", argv[i]);
            return EX_USAGE;
        }

    int rc = EX_SOFTWARE;
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
    if (!sock) {
        fprintf(stderr, "twitchd sub: cannot create a ZeroMQ SUB socket: %s\n",
                zmq_strerror(errno));
        goto out;
    }
    int zero = 0, hwm = SUB_RCVHWM;
    char cerr[512];
    if (tw_curve_client_opts(sock, curve_server, curve_key, cerr, sizeof cerr) != 0) {
        fprintf(stderr, "twitchd sub: %s\n", cerr);
        rc = EX_USAGE;
        goto out;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (first_topic >= argc) {
        zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0);
    } else {
        for (int i = first_topic; i < argc; i++)
            zmq_setsockopt(sock, ZMQ_SUBSCRIBE, argv[i], strlen(argv[i]));
    }
    {
        char *list = strdup(endpoint), *save = NULL;
        if (!list)
            goto out;
        for (char *ep = strtok_r(list, ",", &save); ep; ep = strtok_r(NULL, ",", &save)) {
            while (*ep == ' ')
                ep++;
            char *e = ep + strlen(ep);
            while (e > ep && e[-1] == ' ')
                *--e = '\0';
            if (zmq_connect(sock, ep) != 0) {
                fprintf(stderr, "twitchd sub: cannot connect to '%s': %s\n", ep,
                        zmq_strerror(errno));
                free(list);
                rc = EX_USAGE;
                goto out;
            }
        }
        free(list);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    tracker tr;
    memset(&tr, 0, sizeof tr);
    long long printed = 0;
    double last = tw_mono_s();
    rc = 0;
    while (!g_stop && (count < 0 || printed < count)) {
        long wait_ms = SUB_POLL_MS;
        if (timeout > 0) {
            double left = last + timeout - tw_mono_s();
            if (left <= 0) {
                fprintf(stderr, "twitchd sub: nothing received for %g s\n", timeout);
                rc = 1;
                break;
            }
            if (left * 1e3 < wait_ms)
                wait_ms = (long)ceil(left * 1e3);
        }
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, wait_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "twitchd sub: zmq_poll: %s\n", zmq_strerror(errno));
            rc = EX_SOFTWARE;
            break;
        }
        if (n == 0)
            continue;
        /* One message: its frames arrive together (zmq multipart). */
        zmq_msg_t fr[3];
        int nfr = 0, extra = 0, more = 1, err = 0;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN || nfr > 0)
                    err = errno;
                break;
            }
            more = zmq_msg_more(&m);
            if (nfr < 3) {
                zmq_msg_init(&fr[nfr]);
                zmq_msg_move(&fr[nfr++], &m);
            } else {
                extra++;
            }
            zmq_msg_close(&m);
        }
        if (nfr > 0)
            last = tw_mono_s();
        if (err) {
            fprintf(stderr, "twitchd sub: receive: %s\n", zmq_strerror(err));
            rc = EX_SOFTWARE;
        } else if (nfr == 1 || extra) {
            char topic[256];
            topic_text(&fr[0], topic, sizeof topic);
            fprintf(stderr, "sub: topic %s: message of %d frames (want 2 or 3): skipped\n",
                    topic, nfr + extra);
        } else if (nfr >= 2) {
            int r = print_msg(&tr, fr, nfr, samples, final);
            if (r < 0) {
                fprintf(stderr, "twitchd sub: cannot write stdout: %s\n", strerror(errno));
                rc = EX_IOERR;
            }
            printed += r > 0;
        }
        for (int i = 0; i < nfr; i++)
            zmq_msg_close(&fr[i]);
        if (rc != 0)
            break;
    }
    tracker_free(&tr);
    if (rc == 0 && fflush(stdout) != 0) {
        fprintf(stderr, "twitchd sub: cannot write stdout: %s\n", strerror(errno));
        rc = EX_IOERR;
    }
out:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}
