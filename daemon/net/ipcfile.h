/* ipcfile.h: endpoints of the daemon's ZeroMQ sockets (publisher and
 * control socket): whether a tcp:// one stays on this machine, and the
 * socket file behind an ipc:// one. libzmq neither refuses a live socket file nor
 * removes a stale one reliably: bind over another daemon's socket would
 * silently steal it. */
#ifndef TW_IPCFILE_H
#define TW_IPCFILE_H

#include <stddef.h>

/* 1 when a tcp:// endpoint binds to loopback only: its host is
 * localhost, [::1] or an IPv4 address 127.x.x.x; 0 otherwise (another
 * host, a wildcard, an interface name, another transport). */
int tw_tcp_loopback(const char *ep);

#define TW_ENDPOINT_LIST_MAX 16 /* endpoints in one publish.endpoint list */
#define TW_ENDPOINT_LEN 256     /* bytes of one endpoint, with the NUL */

/* One endpoint the daemon can bind and a client can reach: "tcp://HOST:PORT"
 * (HOST not empty: an address, [IPv6], a name, an interface, or *; PORT
 * 1 .. 65535, or * for any free port when any_port) or "ipc://PATH" (a
 * path that fits a unix socket address, 107 bytes; or an abstract @name).
 * Other transports are refused: inproc:// only reaches this process.
 * 0, or -1 with the reason in why (not naming ep: the caller does). */
int tw_endpoint_check(const char *ep, int any_port, char *why, size_t whylen);

/* A comma-separated list of such endpoints (publish.endpoint): 1 to
 * TW_ENDPOINT_LIST_MAX items, blanks around each ignored, none empty,
 * each shorter than TW_ENDPOINT_LEN. 0, or -1 with the reason in why
 * naming the item. */
int tw_endpoint_list_check(const char *list, int any_port, char *why, size_t whylen);

/* One item of a comma-separated list starting at s: *item and *len get it
 * with blanks (space, tab) trimmed at both ends (*len may be 0). Returns
 * the start of the next item, or NULL when this was the last. */
const char *tw_list_item(const char *s, const char **item, size_t *len);

/* The file behind an ipc endpoint ("ipc://PATH"), or NULL for other
 * transports, an abstract socket ("ipc://@name") or a wildcard. */
const char *tw_ipc_file(const char *ep);

/* Before binding ipc://path: remove a stale socket file, refuse anything
 * else that is there. 0, or -1 with why filled in. */
int tw_ipc_prepare(const char *path, char *why, size_t whylen);

/* After close: remove path if it is still a socket file nobody listens on. */
void tw_ipc_cleanup(const char *path);

#endif
