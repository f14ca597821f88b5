/* web_ctl.c: see web_ctl.h. */
#include "web_ctl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "utf8.h"

static const char *const allowed[] = {
    "status", "snapshot", "session.start", "session.stop", "mark", "insertion", "monitor",
};

/* {"ok": false, "error": why}. A reason that is not UTF-8 (it may quote
 * the request) has its other bytes made '?': there is always a reply. */
static int refuse(int status, char **reply, const char *fmt, const char *arg)
{
    char why[512];
    snprintf(why, sizeof why, fmt, arg ? arg : "");
    if (!tw_utf8_valid(why, strlen(why)))
        for (char *p = why; *p; p++)
            if ((unsigned char)*p > 0x7e)
                *p = '?';
    json_t *o = json_pack("{s:b, s:s}", "ok", 0, "error", why);
    *reply = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return *reply ? status : -1;
}

int tw_web_ctl_forward(void *zctx, const char *endpoint, const char *body, size_t len,
                       int timeout_ms, char **reply)
{
    *reply = NULL;
    if (len > TW_WEB_CTL_MAX_BODY)
        return refuse(400, reply, "request too large (limit 65536 bytes)", NULL);
    json_error_t je;
    json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!req)
        return refuse(400, reply, "not valid JSON: %s", je.text);
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!json_is_object(req) || !cmd) {
        json_decref(req);
        return refuse(400, reply, "the request must be a JSON object with a string \"cmd\"",
                      NULL);
    }
    int ok = 0;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        ok |= !strcmp(cmd, allowed[i]);
    if (!ok) {
        char c[80]; /* at most 64 bytes of it, cut between two characters */
        snprintf(c, sizeof c, "%.*s", (int)tw_utf8_cut(cmd, strlen(cmd), 64), cmd);
        json_decref(req);
        return refuse(403, reply,
                      "'%s' cannot be sent from the web page (allowed: " TW_WEB_CTL_ALLOWED
                      "; use twitchd ctl)", c);
    }
    json_decref(req);
    if (!endpoint || !*endpoint)
        return refuse(503, reply, "control.endpoint is empty: the daemon has no control socket",
                      NULL);

    int status;
    void *s = zmq_socket(zctx, ZMQ_REQ);
    if (!s)
        return refuse(502, reply, "zmq_socket: %s", zmq_strerror(zmq_errno()));
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_connect(s, endpoint) != 0) {
        status = refuse(502, reply, "control.endpoint: cannot connect: %s",
                        zmq_strerror(zmq_errno()));
    } else if (zmq_send(s, body, len, 0) < 0 || zmq_msg_recv(&m, s, 0) < 0) {
        char t[32];
        snprintf(t, sizeof t, "%d", timeout_ms);
        status = refuse(504, reply, "no reply from the daemon within %s ms (is it running?)", t);
    } else {
        size_t n = zmq_msg_size(&m);
        *reply = malloc(n + 1);
        if (*reply) {
            memcpy(*reply, zmq_msg_data(&m), n);
            (*reply)[n] = '\0';
        }
        status = *reply ? 200 : -1;
    }
    zmq_msg_close(&m);
    zmq_close(s);
    return status;
}
