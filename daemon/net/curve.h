/* curve.h: CURVE encryption and client authentication for the daemon's
 * ZeroMQ sockets (the PUB socket and the control socket), and the key
 * files of `twitchd keygen`.
 *
 * CURVE alone admits anyone who knows the server's public key. So the
 * daemon also runs a ZAP handler (RFC 27) in every ZeroMQ context that has
 * a CURVE server socket; it admits a client only when its public key is in
 * the allowlist file, and refuses every other mechanism. A plain-text
 * client cannot even complete the handshake with a CURVE server.
 *
 * Files (text, '#' starts a comment, blank lines ignored):
 *  - key pair (NAME.key, mode 0600): "public = Z85" and "secret = Z85";
 *  - public key (NAME.pub): "public = Z85";
 *  - allowlist: one public key per line, bare Z85 or "public = Z85"
 *    (so `cat client.pub >> allowlist` works); text after the key and
 *    whitespace is a comment.
 * Z85 keys are 40 characters (32 bytes). Errors name file, line and
 * reason.
 *
 * Threads: tw_curve_server may be called from any thread, one socket at a
 * time; each ZAP handler is a thread of its own that ends when its context
 * is terminated (zmq_ctx_term); tw_curve_free joins them, so it comes after
 * every context that used c has been terminated.
 */
#ifndef TW_CURVE_H
#define TW_CURVE_H

#include <stddef.h>

#define TW_CURVE_KEYLEN 40        /* Z85 characters of a key */
#define TW_CURVE_MAX_CLIENTS 4096 /* keys in an allowlist */
#define TW_CURVE_MAX_CTX 8        /* contexts one tw_curve serves */

typedef struct tw_curve tw_curve;

/* The server's key pair (key_file) and the allowlist. NULL with err set
 * ("FILE:LINE: reason" for a bad line). An empty allowlist is an error:
 * it would admit nobody. */
tw_curve *tw_curve_load(const char *key_file, const char *allow_file, char *err,
                        size_t errlen);

/* Number of keys in the allowlist. */
size_t tw_curve_get_clients(const tw_curve *c);

/* Make sock (a socket of ctx, before bind) a CURVE server whose clients
 * the allowlist admits; starts ctx's ZAP handler on first use. 0, or -1
 * with err set. */
int tw_curve_server(tw_curve *c, void *ctx, void *sock, char *err, size_t errlen);

/* Join the ZAP handlers (their contexts are terminated) and free. NULL: no-op. */
void tw_curve_free(tw_curve *c);

/* Read a key file: pub and sec get the Z85 keys (41 bytes each, NUL
 * ended; sec may be NULL to read only the public key, which a .pub file
 * has). 0, or -1 with err set. */
int tw_curve_read_keyfile(const char *path, char *pub, char *sec, char *err, size_t errlen);

/* The client options of `twitchd sub` and `twitchd ctl`: server_arg
 * (--curve-server: the daemon's public key or its .pub file) and key_file
 * (--curve-key: the client's key pair); both or neither. Neither: 0, sock
 * untouched. 0, or -1 with err set. */
int tw_curve_client_opts(void *sock, const char *server_arg, const char *key_file, char *err,
                         size_t errlen);

/* Write a new key pair: base.key (mode 0600, refused if it exists) and
 * base.pub. 0, or -1 with err set. */
int tw_curve_keygen(const char *base, char *err, size_t errlen);

#endif
