/* control.c: see control.h. */
#include "control.h"
#include "thread_name.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "curve.h"
#include "ipcfile.h"
#include "log.h"
#include "utf8.h"

#define IPC_MODE 0660 /* file mode of the control socket file */

/* Value kinds a key takes. */
enum { K_STR, K_INT, K_SCALAR };

typedef struct {
    const char *name;
    int kind;
    int required;
    long min, max;       /* K_STR: length; K_INT: value */
    const char *charset; /* K_STR: allowed characters, or NULL: any but controls */
} key_spec;

#define SAFE_ID "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

typedef struct {
    const char *cmd;
    const key_spec *keys; /* NULL-name terminated; NULL: none */
    int any_keys;         /* "set": SECTION.KEY keys, checked by the executor */
} cmd_spec;

static const key_spec k_start[] = {
    {"subject", K_STR, 1, 1, 64, SAFE_ID},
    {"muscle", K_STR, 0, 0, 64, NULL},
    {"side", K_STR, 0, 0, 16, NULL},
    {"notes", K_STR, 0, 0, 2000, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};
static const key_spec k_mark[] = {
    {"label", K_STR, 1, 1, 200, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};
static const key_spec k_insertion[] = {
    {"label", K_STR, 0, 0, 200, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};
static const key_spec k_snapshot[] = {
    {"events", K_INT, 0, 0, 1000, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const key_spec k_monitor[] = { /* values checked by the monitor (mon_cmd.c) */
    {"channel", K_SCALAR, 0, 0, 0, NULL},
    {"gain_db", K_SCALAR, 0, 0, 0, NULL},
    {"mute", K_SCALAR, 0, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, NULL},
};

static const cmd_spec cmds[] = {
    {"status", NULL, 0},
    {"session.start", k_start, 0},
    {"session.stop", NULL, 0},
    {"mark", k_mark, 0},
    {"insertion", k_insertion, 0},
    {"recalibrate", NULL, 0},
    {"set", NULL, 1},
    {"snapshot", k_snapshot, 0},
    {"monitor", k_monitor, 0},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

const char *const tw_control_commands[] = {
    "status", "session.start", "session.stop", "mark", "insertion",
    "recalibrate", "set", "snapshot", "monitor", NULL,
};

struct tw_control {
    void *ctx, *sock;
    char ipc[512];           /* socket file to remove at stop, or "" */
    size_t max_len;
    tw_control_exec exec;
    void *user;
    pthread_t th;
    atomic_int stop;
};

json_t *tw_control_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The message may quote the request (jansson's parse errors do), which
     * need not be UTF-8: JSON strings must be, so such bytes become '?'. */
    json_t *text = json_string(msg);
    if (!text) {
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                *p = '?';
        text = json_string(msg);
    }
    json_t *r = json_object();
    json_object_set_new(r, "ok", json_false());
    json_object_set_new(r, "error", text);
    return r;
}

static const char *kind_name(int kind)
{
    return kind == K_STR ? "a string" : kind == K_INT ? "an integer" : "a string, number or boolean";
}

/* NULL if v is fine for spec k, else the error reply. */
static json_t *check_value(const char *cmd, const key_spec *k, const json_t *v)
{
    if (k->kind == K_STR) {
        if (!json_is_string(v))
            return tw_control_error("%s: '%s' must be %s", cmd, k->name, kind_name(k->kind));
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), chars = tw_utf8_chars(s, n);
        if ((long)chars < k->min || (long)chars > k->max)
            return tw_control_error("%s: '%s' has %zu characters (allowed %ld .. %ld)",
                                    cmd, k->name, chars, k->min, k->max);
        const char *allowed = k->charset ? "letters, digits, '.', '_', '-'" : "printable text";
        for (size_t i = 0; i < n;) {
            uint32_t c;
            int l = tw_utf8_next(s + i, n - i, &c); /* jansson's strings are UTF-8 */
            i += l > 0 ? (size_t)l : 1;
            int bad = k->charset ? c == 0 || c > 0x7f || !strchr(k->charset, (int)c)
                                 : tw_utf8_is_control(c);
            if (bad && c < 0x80)
                return tw_control_error("%s: '%s' contains character 0x%02x (allowed: %s)",
                                        cmd, k->name, (unsigned)c, allowed);
            if (bad)
                return tw_control_error("%s: '%s' contains character U+%04X (allowed: %s)",
                                        cmd, k->name, (unsigned)c, allowed);
        }
        return NULL;
    }
    if (k->kind == K_INT) {
        if (json_is_string(v)) { /* "20" as typed on a command line */
            char *end;
            long x = strtol(json_string_value(v), &end, 10);
            if (*json_string_value(v) && !*end) {
                if (x < k->min || x > k->max)
                    return tw_control_error("%s: '%s' = %ld (allowed %ld .. %ld)", cmd,
                                            k->name, x, k->min, k->max);
                return NULL;
            }
        }
        if (!json_is_integer(v))
            return tw_control_error("%s: '%s' must be %s", cmd, k->name, kind_name(k->kind));
        json_int_t x = json_integer_value(v);
        if (x < k->min || x > k->max)
            return tw_control_error("%s: '%s' = %lld (allowed %ld .. %ld)", cmd, k->name,
                                    (long long)x, k->min, k->max);
        return NULL;
    }
    if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
        return tw_control_error("%s: '%s' must be %s", cmd, k->name, kind_name(k->kind));
    return NULL;
}

static json_t *check(const json_t *req)
{
    if (!json_is_object(req))
        return tw_control_error("request must be a JSON object");
    const json_t *c = json_object_get(req, "cmd");
    if (!c)
        return tw_control_error("request has no \"cmd\"");
    if (!json_is_string(c))
        return tw_control_error("\"cmd\" must be a string");
    const char *name = json_string_value(c);
    const cmd_spec *cs = NULL;
    for (size_t i = 0; i < NCMDS; i++)
        if (!strcmp(cmds[i].cmd, name))
            cs = &cmds[i];
    if (!cs) {
        char list[256] = "";
        for (size_t i = 0; i < NCMDS; i++) {
            strcat(list, i ? ", " : "");
            strcat(list, cmds[i].cmd);
        }
        return tw_control_error("unknown command '%.64s' (commands: %s)", name, list);
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)req, key, v) {
        if (!strcmp(key, "cmd"))
            continue;
        if (cs->any_keys) {
            key_spec any = {key, K_SCALAR, 0, 0, 0, NULL};
            json_t *e = check_value(name, &any, v);
            if (e)
                return e;
            continue;
        }
        const key_spec *k = NULL;
        for (const key_spec *p = cs->keys; p && p->name; p++)
            if (!strcmp(p->name, key))
                k = p;
        if (!k) {
            char list[128] = "";
            for (const key_spec *p = cs->keys; p && p->name; p++) {
                strcat(list, p != cs->keys ? ", " : "");
                strcat(list, p->name);
            }
            return tw_control_error("%s: unknown key '%.64s' (allowed: %s)", name, key,
                                    *list ? list : "none");
        }
        json_t *e = check_value(name, k, v);
        if (e)
            return e;
    }
    for (const key_spec *p = cs->keys; p && p->name; p++)
        if (p->required && !json_object_get(req, p->name))
            return tw_control_error("%s: '%s' is required", name, p->name);
    if (cs->any_keys && json_object_size(req) < 2)
        return tw_control_error("%s: give at least one SECTION.KEY", name);
    return NULL;
}

json_t *tw_control_handle(const char *buf, size_t len, size_t max_len,
                          tw_control_exec exec, void *user)
{
    if (len > max_len)
        return tw_control_error("request of %zu bytes is too large (limit %zu)", len, max_len);
    json_error_t je;
    json_t *req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!req)
        return tw_control_error("request is not valid JSON: %s (at byte %d)", je.text,
                                je.position);
    json_t *r = check(req);
    if (!r) {
        r = exec(user, req);
        if (!r)
            r = tw_control_error("%s: the daemon is busy (no answer from the DSP thread)",
                                 json_string_value(json_object_get(req, "cmd")));
    }
    json_decref(req);
    return r;
}

static void *run(void *arg)
{
    tw_thread_name("tw-control");
    tw_control *c = arg;
    zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
    while (!atomic_load(&c->stop)) {
        int rc = zmq_poll(&it, 1, TW_CONTROL_POLL_MS);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            tw_log(TW_LOG_ERR, "control socket: poll: %s", zmq_strerror(errno));
            break;
        }
        if (rc == 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        /* a multi-part request: only the first part counts; the rest is
         * read and dropped so that the REP state machine stays in step */
        int more = zmq_msg_more(&m);
        json_t *r = tw_control_handle(zmq_msg_data(&m), zmq_msg_size(&m), c->max_len,
                                      c->exec, c->user);
        zmq_msg_close(&m);
        while (more) {
            zmq_msg_t x;
            zmq_msg_init(&x);
            if (zmq_msg_recv(&x, c->sock, 0) < 0)
                more = 0;
            else
                more = zmq_msg_more(&x);
            zmq_msg_close(&x);
        }
        char *text = r ? json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
        json_decref(r);
        if (!text)
            text = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
        if (text && zmq_send(c->sock, text, strlen(text), 0) < 0)
            tw_log(TW_LOG_WARNING, "control socket: reply not sent: %s", zmq_strerror(errno));
        free(text);
    }
    return NULL;
}

tw_control *tw_control_start(const char *endpoint, size_t max_len,
                             tw_control_exec exec, void *user, tw_curve *curve,
                             char *err, size_t errlen)
{
    tw_control *c = calloc(1, sizeof *c);
    if (!c) {
        tw_set_err(err, errlen, "out of memory");
        return NULL;
    }
    c->max_len = max_len;
    c->exec = exec;
    c->user = user;
    const char *file = tw_ipc_file(endpoint);
    char why[512];
    if (file && tw_ipc_prepare(file, why, sizeof why) != 0) {
        tw_set_err(err, errlen, "control endpoint %s: %s", endpoint, why);
        free(c);
        return NULL;
    }
    c->ctx = zmq_ctx_new();
    c->sock = c->ctx ? zmq_socket(c->ctx, ZMQ_REP) : NULL;
    if (!c->sock) {
        tw_set_err(err, errlen, "control socket: %s", zmq_strerror(errno));
        goto fail;
    }
    int zero = 0;
    /* libzmq's own cap: a message up to TW_CONTROL_SOCKET_MAX is read and a
     * request over max_len answered with an error; a peer sending more is
     * disconnected by libzmq before the message is held in memory (no
     * reply can reach it then) */
    int64_t cap = TW_CONTROL_SOCKET_MAX;
    if ((int64_t)max_len * 2 > cap)
        cap = (int64_t)max_len * 2;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &cap, sizeof cap);
    if (curve && tw_curve_server(curve, c->ctx, c->sock, err, errlen) != 0)
        goto fail;
    if (zmq_bind(c->sock, endpoint) != 0) {
        tw_set_err(err, errlen, "control endpoint %s: cannot bind: %s", endpoint,
                   zmq_strerror(errno));
        goto fail;
    }
    if (file) {
        snprintf(c->ipc, sizeof c->ipc, "%s", file);
        if (chmod(file, IPC_MODE) != 0)
            tw_log(TW_LOG_WARNING, "control socket %s: chmod: %s", file, strerror(errno));
    } else if (!curve && !strncmp(endpoint, "tcp://", 6)) {
        /* an ipc:// socket file admits its group only; TCP admits anyone
         * who reaches the port */
        if (tw_tcp_loopback(endpoint))
            tw_log(TW_LOG_WARNING,
                   "control: endpoint '%s' is TCP without CURVE: every local user can "
                   "start and stop sessions and change detector settings (use ipc://, "
                   "whose socket file admits the service's group only, or set curve.enable)",
                   endpoint);
        else
            tw_log(TW_LOG_WARNING,
                   "control: endpoint '%s' is TCP without CURVE and not loopback: anyone "
                   "on the network who reaches it can start and stop sessions and change "
                   "detector settings (use ipc://, or set curve.enable with an allowlist)",
                   endpoint);
    } else if (!curve && !strncmp(endpoint, "ipc://@", 7)) {
        /* a Linux abstract socket has no file, hence no permissions */
        tw_log(TW_LOG_WARNING,
               "control: endpoint '%s' is an abstract socket without CURVE: it has no file "
               "permissions, so every local user can start and stop sessions and change "
               "detector settings (use ipc://PATH, whose socket file admits the service's "
               "group only, or set curve.enable)", endpoint);
    }
    if (pthread_create(&c->th, NULL, run, c) != 0) {
        tw_set_err(err, errlen, "control socket: cannot start its thread");
        goto fail;
    }
    return c;
fail:
    if (c->sock)
        zmq_close(c->sock);
    if (c->ctx)
        zmq_ctx_term(c->ctx);
    tw_ipc_cleanup(c->ipc);
    free(c);
    return NULL;
}

void tw_control_stop(tw_control *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, 1);
    pthread_join(c->th, NULL);
    zmq_close(c->sock);
    zmq_ctx_term(c->ctx);
    tw_ipc_cleanup(c->ipc);
    free(c);
}
