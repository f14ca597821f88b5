/* web_ctl.h: the page's session controls. `POST /api/ctl` carries one
 * control request (docs/protocol.md, "Control socket"); it is checked
 * here and forwarded, byte for byte, to the daemon's control socket
 * (ZeroMQ REQ), and the daemon's reply goes back to the page as it is.
 *
 * Only the requests the page needs are forwarded (TW_WEB_CTL_ALLOWED):
 * the page is a viewer with session controls and the audio monitor's
 * (channel, gain, mute); settings (`set`,
 * `recalibrate`) stay with `twitchd ctl`.
 *
 * Thread-safe: each call makes, uses and closes its own REQ socket on the
 * shared context (so a request that timed out leaves nothing behind).
 */
#ifndef TW_WEB_CTL_H
#define TW_WEB_CTL_H

#include <stddef.h>

#define TW_WEB_CTL_ALLOWED "status, snapshot, session.start, session.stop, mark, insertion, monitor"
#define TW_WEB_CTL_MAX_BODY 65536 /* bytes of one request from the page */

/* Forward body[0..len) (one JSON object with a string "cmd" among
 * TW_WEB_CTL_ALLOWED) to the REP socket at endpoint, waiting up to
 * timeout_ms for the reply. Returns the HTTP status for the page and sets
 * *reply to a malloc'd JSON text (NUL-terminated; the caller frees it),
 * always a JSON object:
 *   200: the daemon's reply, as it is ({"ok": true|false, ...});
 *   400: not a JSON object, no string "cmd", over TW_WEB_CTL_MAX_BODY;
 *   403: a command the page may not send;
 *   503: no control socket configured (endpoint empty);
 *   504: no reply within timeout_ms (is the daemon running?);
 *   502: a ZeroMQ error.
 * Every status but 200 comes with {"ok": false, "error": REASON}. -1 when
 * out of memory (*reply NULL). */
int tw_web_ctl_forward(void *zctx, const char *endpoint, const char *body, size_t len,
                       int timeout_ms, char **reply);

#endif
