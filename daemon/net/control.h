/* control.h: the control socket. A ZeroMQ REP socket (control.endpoint)
 * takes one JSON object per request, {"cmd": NAME, KEY: VALUE, ...}, and
 * answers each with one JSON object, {"ok": true, ...} or {"ok": false,
 * "error": TEXT} (docs/protocol.md).
 *
 * Two layers:
 *   - tw_control_handle() checks a request (size, JSON, "cmd", the keys
 *     and value types that command allows) and passes a valid one to the
 *     executor. Pure: no sockets, no threads; the fuzzing and unit tests
 *     call it directly.
 *   - tw_control_start() runs the socket in its own thread, which only
 *     receives, calls tw_control_handle() and replies. The executor (the
 *     daemon: tw_engine_call) does the work.
 *
 * A malformed, unknown or oversized request gets an error reply naming
 * the problem and changes nothing; the thread goes on. A message over
 * TW_CONTROL_SOCKET_MAX is the exception: libzmq drops the connection
 * that sends it (no reply), and the socket serves the next client.
 */
#ifndef TW_CONTROL_H
#define TW_CONTROL_H

#include <jansson.h>
#include <stddef.h>

/* Runs a checked request (borrowed). Returns the reply (new reference;
 * NULL: "daemon busy", turned into an error reply). */
typedef json_t *(*tw_control_exec)(void *user, const json_t *req);

/* The reply to the request text buf[0..len), at most max_len bytes. Never
 * NULL unless out of memory. */
json_t *tw_control_handle(const char *buf, size_t len, size_t max_len,
                          tw_control_exec exec, void *user);

/* A reply {"ok": false, "error": printf(fmt, ...)} (new reference). */
json_t *tw_control_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The commands and their keys, for help texts: "status", ... NULL-ended. */
extern const char *const tw_control_commands[];

typedef struct tw_control tw_control;

/* Bind endpoint (an ipc:// socket file gets mode 0660) and start the
 * thread. NULL with err set when the endpoint cannot be bound. */
typedef struct tw_curve tw_curve;
/* curve: NULL, or the socket is a CURVE server with the allowlist of
 * curve.h. */
tw_control *tw_control_start(const char *endpoint, size_t max_len,
                             tw_control_exec exec, void *user, tw_curve *curve,
                             char *err, size_t errlen);
/* Stop the thread (within TW_CONTROL_POLL_MS), close and remove the
 * socket file. */
void tw_control_stop(tw_control *c);

#define TW_CONTROL_POLL_MS 100 /* stop is noticed within this, ms */
/* The largest message the socket reads (ZMQ_MAXMSGSIZE; 2 x max_len when
 * that is more): twice the largest control.max_request_bytes, so that
 * every request over the limit up to this size gets its error reply. A
 * larger message makes libzmq close that connection without a reply. */
#define TW_CONTROL_SOCKET_MAX (2 * 1024 * 1024)
#define TW_CONTROL_DEFAULT_DIR "/run/twitchd"
#define TW_CONTROL_DEFAULT_ENDPOINT "ipc://" TW_CONTROL_DEFAULT_DIR "/control"

#endif
