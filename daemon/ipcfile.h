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

/* The file behind an ipc endpoint ("ipc://PATH"), or NULL for other
 * transports, an abstract socket ("ipc://@name") or a wildcard. */
const char *tw_ipc_file(const char *ep);

/* Before binding ipc://path: remove a stale socket file, refuse anything
 * else that is there. 0, or -1 with why filled in. */
int tw_ipc_prepare(const char *path, char *why, size_t whylen);

/* After close: remove path if it is still a socket file nobody listens on. */
void tw_ipc_cleanup(const char *path);

#endif
