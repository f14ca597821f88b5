/* fuzz_control.c: the control-request handler (tw_control_handle), the
 * part of the control socket that reads what any local client sends.
 *
 * The input is the request message, as received (not NUL-terminated: the
 * handler gets exactly the input's bytes). The executor stands in for the
 * DSP thread; what it does depends on the input's length, so the fuzzer
 * reaches every reply path:
 *   len % 4 == 0  returns NULL ("daemon busy": the handler must answer);
 *   len % 4 == 1  {"ok": true, "cmd": CMD};
 *   len % 4 == 2  {"ok": false, "error": "refused"};
 *   len % 4 == 3  {"ok": true, "echo": a deep copy of the request}.
 * max_len is 256 (the smallest control.max_request_bytes) when bit 3 of the
 * length is set, else 65536 (the default).
 *
 * Invariants (abort() when broken): the handler never returns NULL; the
 * reply is a JSON object whose "ok" is a boolean, with an "error" string
 * when it is false, and it serialises; the executor is called only for a
 * request within max_len that is a JSON object with a known "cmd" string,
 * at most once, and its reply (when not NULL) is the one returned; a
 * request over max_len is refused without being parsed.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "fuzz_util.h"

typedef struct {
    size_t len;
    int calls;
    json_t *reply; /* borrowed: what exec returned */
} exec_ctx;

static json_t *exec(void *user, const json_t *req)
{
    exec_ctx *x = user;
    x->calls++;
    FZ_CHECK(json_is_object(req), "exec got a non-object");
    const json_t *cmd = json_object_get(req, "cmd");
    FZ_CHECK(json_is_string(cmd), "exec got a request without a \"cmd\" string");
    int known = 0;
    for (const char *const *c = tw_control_commands; *c; c++)
        if (strcmp(*c, json_string_value(cmd)) == 0)
            known = 1;
    FZ_CHECK(known, "exec got unknown command '%s'", json_string_value(cmd));
    json_t *r = NULL;
    switch (x->len % 4) {
    case 0:
        return NULL;
    case 1:
        r = json_pack("{s:b, s:O}", "ok", 1, "cmd", (json_t *)cmd);
        break;
    case 2:
        r = json_pack("{s:b, s:s}", "ok", 0, "error", "refused");
        break;
    default:
        r = json_pack("{s:b, s:o}", "ok", 1, "echo", json_deep_copy(req));
        break;
    }
    if (!r)
        fz_die("json_pack");
    x->reply = r;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    exec_ctx x = {size, 0, NULL};
    size_t max_len = (size & 8) ? 256 : 65536;
    json_t *r = tw_control_handle((const char *)data, size, max_len, exec, &x);
    FZ_CHECK(r != NULL, "no reply");
    FZ_CHECK(json_is_object(r), "reply is not an object");
    json_t *ok = json_object_get(r, "ok");
    FZ_CHECK(json_is_boolean(ok), "reply has no boolean \"ok\"");
    if (json_is_false(ok))
        FZ_CHECK(json_is_string(json_object_get(r, "error")), "error reply without \"error\"");
    FZ_CHECK(x.calls <= 1, "exec called %d times", x.calls);
    if (size > max_len)
        FZ_CHECK(x.calls == 0 && json_is_false(ok), "oversized request executed");
    if (x.reply)
        FZ_CHECK(r == x.reply, "the executor's reply was replaced");
    if (x.calls == 1 && size % 4 == 0)
        FZ_CHECK(json_is_false(ok), "busy executor, yet ok");
    char *text = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(15));
    FZ_CHECK(text != NULL, "reply does not serialise");
    free(text);
    json_decref(r);
    return 0;
}
