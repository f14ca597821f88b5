/* web_http.h: the HTTP side of `twitchd web`, on libmicrohttpd (one
 * thread per connection, at most max_clients + TW_WEB_EXTRA_CONNECTIONS
 * connections):
 *
 *   GET /              root/index.html
 *   GET /NAME          root/NAME: a file directly in root whose name is
 *                      [A-Za-z0-9_-][A-Za-z0-9._-]* (no path, no dot file);
 *                      404 otherwise
 *   GET /events        the live stream: text/event-stream, one client of
 *                      the hub (web_hub.h); 503 when max_clients are
 *                      connected
 *   POST /api/ctl      a control request, Content-Type application/json
 *                      (415 otherwise), forwarded by web_ctl.h
 *
 * Other methods get 405. When the listening address is a loopback one,
 * requests whose Host is not localhost, 127.0.0.1, [::1] or the host of
 * web.listen itself (e.g. 127.0.0.2), with any port, get 403: a page of
 * another site that rebinds its name to 127.0.0.1 cannot read the stream
 * or send requests. A POST /api/ctl whose Origin header is not this
 * server ("http://" + its Host) gets 403: no other site's page can send
 * control requests (browsers send Origin with every POST; a request
 * without one, from a script, is served). Static files carry a
 * Content-Security-Policy that allows nothing but this server.
 *
 * Connections: those that are not event streams are closed after
 * TW_WEB_IDLE_TIMEOUT_S with nothing going on, and one client address may
 * hold at most TW_WEB_CONNS_PER_ADDR of them (more are refused at
 * accept): idle connections from one address cannot lock out the others
 * (and lock out their own address for at most TW_WEB_IDLE_TIMEOUT_S).
 * Event streams do not count, and keep TW_WEB_STREAM_TIMEOUT_S.
 *
 * Threads: start and stop from one thread; libmicrohttpd runs the
 * connections on threads of its own.
 */
#ifndef TW_WEB_HTTP_H
#define TW_WEB_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "web_hub.h"

#define TW_WEB_EXTRA_CONNECTIONS 16  /* connections beyond max_clients: page
                                        loads, control requests */
#define TW_WEB_CTL_TIMEOUT_MS 5000   /* wait for the daemon's reply, ms */
#define TW_WEB_SSE_WAIT_MS 1000      /* a stream with nothing to send writes a
                                        comment line this often, ms */
#define TW_WEB_IDLE_TIMEOUT_S 5      /* a connection with nothing going on is closed, s */
#define TW_WEB_STREAM_TIMEOUT_S 60   /* ... but an event stream (it writes every
                                        TW_WEB_SSE_WAIT_MS) only after this, s */
#define TW_WEB_CONNS_PER_ADDR 8      /* connections from one client address that are not
                                        event streams (a browser opens at most 6) */

/* "HOST:PORT" or "[IPV6]:PORT" (web.listen; HOST a numeric address or a
 * name, PORT 0 .. 65535, 0: any free port) into *sa / *salen; *loopback
 * is 1 when the address is 127.0.0.0/8 or ::1. Returns 0, or -1 with the
 * reason in err. */
int tw_web_parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *salen,
                        int *loopback, char *err, size_t errlen);

typedef struct {
    const char *listen;        /* web.listen */
    const char *root;          /* directory of the static files */
    tw_web_hub *hub;           /* not owned; sized for max_clients */
    size_t max_clients;        /* web.max_clients */
    void *zctx;                /* ZeroMQ context for control requests */
    const char *ctl_endpoint;  /* control.endpoint ("" : none) */
    const char *hello;         /* each stream's first record (or NULL) */
} tw_web_http_params;

typedef struct tw_web_http tw_web_http;

/* Listen and serve. NULL with the reason in err (a bad or busy address).
 * The parameters' strings must outlive the server. */
tw_web_http *tw_web_http_start(const tw_web_http_params *p, char *err, size_t errlen);

/* The port it listens on (useful with port 0). */
unsigned tw_web_http_get_port(const tw_web_http *h);

/* Stop: call tw_web_hub_close on the hub first, so that the streams end
 * at once; then every connection is closed and its thread joined. h may
 * be NULL. */
void tw_web_http_stop(tw_web_http *h);

#endif
