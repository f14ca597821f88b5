/* cmd_ctl.c: `twitchd ctl`: the command-line client of the control socket
 * (control.h, docs/protocol.md).
 *
 *   twitchd ctl [-e ENDPOINT] [-c FILE] [-t MS] COMMAND [KEY=VALUE | KEY:=JSON]...
 *
 * Sends {"cmd": COMMAND, KEY: VALUE, ...}, prints the reply (one line of
 * JSON) on stdout. KEY=VALUE sends VALUE as a string; KEY:=JSON sends the
 * JSON value (a number, true/false, ...).
 *
 * Exit status: 0 when the reply says "ok": true, 1 when it says false, 64
 * usage, 69 no reply within the timeout (daemon not running), 70 ZeroMQ
 * failure, 78 configuration error.
 */
#define _GNU_SOURCE /* getopt_long */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "commands.h"
#include "control.h"

#define CTL_TIMEOUT_MS 5000 /* default wait for the reply, ms */
#define TW_EX_UNAVAILABLE_CTL 69

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
    "  -h, --help          this text\n"
    "\n"
    "examples:\n"
    "  twitchd ctl session.start subject=S01 muscle=trapezius side=left\n"
    "  twitchd ctl mark label=\"distal needling\"\n"
    "  twitchd ctl set ltr.min_turns:=8\n"
    "\n"
    "Exit status: 0 reply ok, 1 reply not ok, 64 usage error, 69 no reply (is the\n"
    "daemon running?), 70 ZeroMQ error, 78 configuration error.\n";

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
        int raw = eq > argv[i] + 1 && eq[-1] == ':';
        size_t kl = (size_t)(eq - argv[i]) - (raw ? 1 : 0);
        char key[256];
        if (kl == 0 || kl >= sizeof key) {
            fprintf(stderr, "twitchd ctl: bad key in '%s'\n", argv[i]);
            json_decref(req);
            return NULL;
        }
        memcpy(key, argv[i], kl);
        key[kl] = '\0';
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL;
    tw_cli_config cc = {0};
    long timeout = CTL_TIMEOUT_MS;
    int o;
    optind = 1;
    /* '+': stop at COMMAND, so that KEY=VALUE arguments are not options */
    while ((o = getopt_long(argc, argv, "+e:c:t:h", opts, NULL)) != -1) {
        switch (o) {
        case 'e':
            endpoint = optarg;
            break;
        case 'c':
            cc.config_path = optarg;
            break;
        case 't': {
            char *end;
            timeout = strtol(optarg, &end, 10);
            if (*end || timeout < 1 || timeout > 600000) {
                fprintf(stderr, "twitchd ctl: --timeout %s: not a number of ms (1 .. 600000)\n",
                        optarg);
                return TW_EX_USAGE;
            }
            break;
        }
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return TW_EX_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return TW_EX_USAGE;
    }
    static tw_config cfg;
    if (!endpoint) {
        if (!cc.config_path && access(TW_CONFIG_DEFAULT_PATH, R_OK) == 0)
            cc.config_path = TW_CONFIG_DEFAULT_PATH;
        if (tw_cli_load(&cc, &cfg, "twitchd ctl") != 0)
            return TW_EX_CONFIG;
        endpoint = cfg.ctl_endpoint;
        if (!*endpoint) {
            fprintf(stderr, "twitchd ctl: control.endpoint is empty (no control socket)\n");
            return TW_EX_CONFIG;
        }
    }
    json_t *req = build(argc - optind, argv + optind);
    if (!req)
        return TW_EX_USAGE;
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text)
        return TW_EX_SOFTWARE;

    int rc = TW_EX_SOFTWARE;
    void *ctx = zmq_ctx_new();
    void *s = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
    if (!s) {
        fprintf(stderr, "twitchd ctl: %s\n", zmq_strerror(zmq_errno()));
        goto out;
    }
    int zero = 0, to = (int)timeout;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &to, sizeof to);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &to, sizeof to);
    if (zmq_connect(s, endpoint) != 0) {
        fprintf(stderr, "twitchd ctl: %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        rc = TW_EX_USAGE;
        goto out;
    }
    if (zmq_send(s, text, strlen(text), 0) < 0) {
        fprintf(stderr, "twitchd ctl: %s: cannot send: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        rc = TW_EX_UNAVAILABLE_CTL;
        goto out;
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s, 0) < 0) {
        fprintf(stderr, "twitchd ctl: no reply from %s within %ld ms (is the daemon running?)\n",
                endpoint, timeout);
        zmq_msg_close(&m);
        rc = TW_EX_UNAVAILABLE_CTL;
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
    rc = json_is_true(json_object_get(rep, "ok")) ? 0 : 1;
    if (rc)
        fprintf(stderr, "twitchd ctl: %s\n",
                json_string_value(json_object_get(rep, "error")) ? json_string_value(json_object_get(rep, "error")) : "request refused");
    json_decref(rep);
out:
    if (s)
        zmq_close(s);
    if (ctx)
        zmq_ctx_term(ctx);
    free(text);
    return rc;
}
