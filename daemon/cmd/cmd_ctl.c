/* cmd_ctl.c: `twitchd ctl`: the command-line client of the control socket
 * (control.h, docs/protocol.md).
 *
 *   twitchd ctl [-e ENDPOINT] [-c FILE] [-t MS] COMMAND [KEY=VALUE | KEY:=JSON]...
 *
 * Sends {"cmd": COMMAND, KEY: VALUE, ...}, prints the reply (one line of
 * JSON) on stdout. KEY=VALUE sends VALUE as a string; KEY:=JSON sends the
 * JSON value (a number, true/false, ...).
 *
 * Exit status: 0 when the reply says "ok": true, 1 when it says false (or
 * is not JSON), 64 usage, 69 no reply within the timeout (daemon not
 * running), 70 ZeroMQ failure, 73 a session started without the recording
 * it asked for, 77 the CURVE handshake was refused, 78 configuration
 * error (docs/protocol.md, `twitchd ctl`).
 */
#define _GNU_SOURCE /* getopt_long */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "commands.h"
#include "control.h"
#include "curve.h"

#define CTL_TIMEOUT_MS 5000 /* default wait for the reply, ms */
#define CTL_MONITOR "inproc://twitchd-ctl-monitor"

static const char usage[] =
    "usage: twitchd ctl [-e ENDPOINT] [-c FILE] [-t MS] COMMAND [KEY=VALUE | KEY:=JSON]...\n"
    "\n"
    "Send one request to a running daemon's control socket and print the reply.\n"
    "\n"
    "  COMMAND             status, session.start, session.stop, mark, insertion,\n"
    "                      recalibrate, set, snapshot (docs/protocol.md)\n"
    "  KEY=VALUE           a string value, e.g. subject=S01 label=\"needle in\"\n"
    "  KEY:=JSON           a JSON value, e.g. events:=20 ltr.min_turns:=8\n"
    "  -e, --endpoint EP   the control endpoint (default: control.endpoint of the\n"
    "                      configuration)\n"
    "  -c, --config FILE   configuration file (default " TW_CONFIG_DEFAULT_PATH " when\n"
    "                      readable)\n"
    "  -t, --timeout MS    how long to wait for the reply (default 5000)\n"
    "  -S, --curve-server KEY  the daemon's CURVE public key (or its .pub file),\n"
    "                      when curve.enable is set\n"
    "  -K, --curve-key FILE    this client's key pair (twitchd keygen)\n"
    "  -h, --help          this text\n"
    "\n"
    "examples:\n"
    "  twitchd ctl session.start subject=S01 muscle=trapezius side=left\n"
    "  twitchd ctl mark label=\"distal needling\"\n"
    "  twitchd ctl set ltr.min_turns:=8\n"
    "\n"
    "Exit status: 0 reply ok, 1 reply not ok, 64 usage error, 69 no reply (is the\n"
    "daemon running?), 70 ZeroMQ error, 73 session started but not recording\n"
    "(session.start), 77 the daemon refused this client's key, 78 configuration\n"
    "error.\n";

/* Wait up to timeout_ms for the reply on s: 0 when it is there, -1 on
 * timeout, -2 when the monitor saw the handshake refused. */
static int wait_reply(void *s, void *mon, long timeout_ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        zmq_pollitem_t it[2] = {{s, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = timeout_ms - ((now.tv_sec - t0.tv_sec) * 1000L +
                                  (now.tv_nsec - t0.tv_nsec) / 1000000L);
        if (left <= 0)
            return -1;
        if (zmq_poll(it, mon ? 2 : 1, left) < 0)
            return -1;
        if (it[0].revents & ZMQ_POLLIN)
            return 0;
        if (mon && (it[1].revents & ZMQ_POLLIN)) {
            zmq_msg_t ev;
            zmq_msg_init(&ev);
            int more = 0;
            if (zmq_msg_recv(&ev, mon, 0) >= 0) {
                uint16_t id = 0;
                if (zmq_msg_size(&ev) >= 2)
                    memcpy(&id, zmq_msg_data(&ev), 2);
                more = zmq_msg_more(&ev);
                zmq_msg_close(&ev);
                while (more) { /* the address frame */
                    zmq_msg_init(&ev);
                    if (zmq_msg_recv(&ev, mon, 0) < 0)
                        break;
                    more = zmq_msg_more(&ev);
                    zmq_msg_close(&ev);
                }
                if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
                    id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
                    return -2;
            } else {
                zmq_msg_close(&ev);
            }
        }
    }
}

/* The exit status a reply stands for, its trouble said on stderr: 1 when
 * it is not ok; EX_CANTCREAT when a session started without the recording
 * it asked for (recording_error); 0 otherwise. */
static int reply_status(const json_t *rep)
{
    if (!json_is_true(json_object_get(rep, "ok"))) {
        const char *e = json_string_value(json_object_get(rep, "error"));
        fprintf(stderr, "twitchd ctl: %s\n", e ? e : "request refused");
        return 1;
    }
    const char *rec = json_string_value(json_object_get(rep, "recording_error"));
    if (rec) {
        const char *id = json_string_value(json_object_get(rep, "session"));
        fprintf(stderr, "twitchd ctl: session %s started, but NOT RECORDING: %s (a new file is "
                "tried every 2 s: see `twitchd ctl status`)\n", id ? id : "?", rec);
        return EX_CANTCREAT;
    }
    return 0;
}

/* {"cmd": argv[0], ...} from the arguments; NULL with a message printed. */
static json_t *build(int argc, char **argv)
{
    json_t *req = json_object();
    json_object_set_new(req, "cmd", json_string(argv[0]));
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "twitchd ctl: '%s' is not KEY=VALUE or KEY:=JSON\n", argv[i]);
            json_decref(req);
            return NULL;
        }
        int raw = eq[-1] == ':';
        size_t kl = (size_t)(eq - argv[i]) - (raw ? 1 : 0);
        char key[256];
        if (kl == 0 || kl >= sizeof key) {
            fprintf(stderr, "twitchd ctl: bad key in '%s' (1 .. %zu bytes before '=' or "
                    "':=')\n", argv[i], sizeof key - 1);
            json_decref(req);
            return NULL;
        }
        memcpy(key, argv[i], kl);
        key[kl] = '\0';
        if (!strcmp(key, "cmd")) {
            fprintf(stderr, "twitchd ctl: '%s': the command is the first argument (%s), not "
                    "a cmd key\n", argv[i], argv[0]);
            json_decref(req);
            return NULL;
        }
        if (json_object_get(req, key)) {
            fprintf(stderr, "twitchd ctl: '%s': key '%s' given twice\n", argv[i], key);
            json_decref(req);
            return NULL;
        }
        json_t *v;
        if (raw) {
            json_error_t je;
            v = json_loads(eq + 1, JSON_DECODE_ANY, &je);
            if (!v) {
                fprintf(stderr, "twitchd ctl: %s: not JSON: %s\n", key, je.text);
                json_decref(req);
                return NULL;
            }
        } else {
            v = json_string(eq + 1);
            if (!v) {
                fprintf(stderr, "twitchd ctl: %s: not valid UTF-8\n", key);
                json_decref(req);
                return NULL;
            }
        }
        json_object_set_new(req, key, v);
    }
    return req;
}

int tw_cmd_ctl(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"config", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"curve-server", required_argument, NULL, 'S'},
        {"curve-key", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL, *curve_server = NULL, *curve_key = NULL;
    tw_cli_config cc = {0};
    long timeout = CTL_TIMEOUT_MS;
    int o;
    optind = 1;
    /* '+': stop at COMMAND, so that KEY=VALUE arguments are not options */
    while ((o = getopt_long(argc, argv, "+e:c:t:S:K:h", opts, NULL)) != -1) {
        switch (o) {
        case 'e':
            endpoint = optarg;
            break;
        case 'c':
            cc.config_path = optarg;
            break;
        case 'S':
            curve_server = optarg;
            break;
        case 'K':
            curve_key = optarg;
            break;
        case 't': {
            char *end;
            timeout = strtol(optarg, &end, 10);
            if (*end || timeout < 1 || timeout > 600000) {
                fprintf(stderr, "twitchd ctl: --timeout %s: not a number of ms (1 .. 600000)\n",
                        optarg);
                return EX_USAGE;
            }
            break;
        }
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return EX_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return EX_USAGE;
    }
    static tw_config cfg;
    if (!endpoint) {
        if (!cc.config_path && access(TW_CONFIG_DEFAULT_PATH, R_OK) == 0)
            cc.config_path = TW_CONFIG_DEFAULT_PATH;
        if (tw_cli_load(&cc, &cfg, "twitchd ctl") != 0)
            return EX_CONFIG;
        endpoint = cfg.ctl_endpoint;
        if (!*endpoint) {
            fprintf(stderr, "twitchd ctl: control.endpoint is empty (no control socket)\n");
            return EX_CONFIG;
        }
    }
    json_t *req = build(argc - optind, argv + optind);
    if (!req)
        return EX_USAGE;
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text)
        return EX_SOFTWARE;

    int rc = EX_SOFTWARE;
    void *ctx = zmq_ctx_new();
    void *s = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL, *mon = NULL;
    if (!s) {
        fprintf(stderr, "twitchd ctl: %s\n", zmq_strerror(zmq_errno()));
        goto out;
    }
    int zero = 0, to = (int)timeout;
    char cerr[512];
    if (tw_curve_client_opts(s, curve_server, curve_key, cerr, sizeof cerr) != 0) {
        fprintf(stderr, "twitchd ctl: %s\n", cerr);
        rc = EX_USAGE;
        goto out;
    }
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &to, sizeof to);
    /* a monitor tells a refused key from a daemon that is not there */
    if (zmq_socket_monitor(s, CTL_MONITOR, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) == 0) {
        mon = zmq_socket(ctx, ZMQ_PAIR);
        if (mon && zmq_connect(mon, CTL_MONITOR) != 0) {
            zmq_close(mon);
            mon = NULL;
        }
    }
    if (zmq_connect(s, endpoint) != 0) {
        fprintf(stderr, "twitchd ctl: %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        rc = EX_USAGE;
        goto out;
    }
    if (zmq_send(s, text, strlen(text), 0) < 0) {
        fprintf(stderr, "twitchd ctl: %s: cannot send: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        rc = EX_UNAVAILABLE;
        goto out;
    }
    int got = wait_reply(s, mon, timeout);
    if (got == -2) {
        fprintf(stderr, "twitchd ctl: %s refused this client (CURVE key not in its allowlist, "
                "or the wrong server key)\n", endpoint);
        rc = EX_NOPERM;
        goto out;
    }
    if (got < 0) {
        fprintf(stderr, "twitchd ctl: no reply from %s within %ld ms (is the daemon running?)\n",
                endpoint, timeout);
        rc = EX_UNAVAILABLE;
        goto out;
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        rc = EX_UNAVAILABLE;
        goto out;
    }
    json_error_t je;
    json_t *rep = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, &je);
    fwrite(zmq_msg_data(&m), 1, zmq_msg_size(&m), stdout);
    putchar('\n');
    zmq_msg_close(&m);
    if (!rep) {
        fprintf(stderr, "twitchd ctl: the reply is not JSON: %s\n", je.text);
        rc = 1;
        goto out;
    }
    rc = reply_status(rep);
    json_decref(rep);
out:
    if (mon)
        zmq_close(mon);
    if (s)
        zmq_close(s);
    if (ctx)
        zmq_ctx_term(ctx);
    free(text);
    return rc;
}
