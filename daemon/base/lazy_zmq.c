/* lazy_zmq.c: libzmq, loaded on first use.
 *
 * twitchd is not linked against libzmq: replay, analyze, report, synth
 * and the other offline commands never open a socket, and libzmq with
 * its own libraries (libstdc++, libsodium, libpgm, libnorm, GSSAPI and
 * Kerberos) cost each of them about 1 ms of start-up (make bench's
 * replay). These definitions carry the names and prototypes of <zmq.h>,
 * so the callers are unchanged; the first call loads libzmq.so.5 with
 * dlopen and every call goes to the real function. If the library
 * cannot be loaded, the error is logged once and every call fails as
 * libzmq's own calls fail (NULL or -1, errno ENOSYS; zmq_strerror says
 * why), so `run` and `ctl` report it and exit as for any other socket
 * error. Thread-safe (pthread_once). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <zmq.h>

#include "log.h"

#define TW_ZMQ_SONAME "libzmq.so.5"

/* Every libzmq function twitchd and its tests call. */
#define TW_ZMQ_FUNCS(X)                                                    \
    X(zmq_bind) X(zmq_close) X(zmq_connect) X(zmq_ctx_new) X(zmq_ctx_term) \
    X(zmq_curve_keypair) X(zmq_curve_public) X(zmq_errno) X(zmq_has)       \
    X(zmq_msg_close) X(zmq_msg_data) X(zmq_msg_init) X(zmq_msg_more)       \
    X(zmq_msg_move) X(zmq_msg_recv) X(zmq_msg_size) X(zmq_poll)            \
    X(zmq_recv) X(zmq_send) X(zmq_socket) X(zmq_socket_monitor)            \
    X(zmq_strerror) X(zmq_version) X(zmq_z85_decode) X(zmq_z85_encode)     \
    X(zmq_setsockopt) X(zmq_getsockopt)

#define TW_FIELD(f) __typeof__(&f) f;
static struct {
    TW_ZMQ_FUNCS(TW_FIELD)
} z;
static int z_loaded;
static char z_error[256];
static pthread_once_t z_once = PTHREAD_ONCE_INIT;

static void z_load(void)
{
    void *lib = dlopen(TW_ZMQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    if (lib) {
#define TW_SYM(f) if (!(*(void **)&z.f = dlsym(lib, #f)) && !missing) missing = #f;
        TW_ZMQ_FUNCS(TW_SYM)
#undef TW_SYM
    }
    if (!lib || missing) {
        const char *why = dlerror();
        snprintf(z_error, sizeof z_error, "%s cannot be loaded (package libzmq5): %s",
                 TW_ZMQ_SONAME, why ? why : missing ? missing : "unknown error");
        tw_log(TW_LOG_ERR, "%s", z_error);
        return;
    }
    z_loaded = 1;
}

static int z_ok(void)
{
    pthread_once(&z_once, z_load);
    if (!z_loaded)
        errno = ENOSYS;
    return z_loaded;
}

#define TW_CALL(f, fail, ...) do { if (!z_ok()) return fail; return z.f(__VA_ARGS__); } while (0)

void *zmq_ctx_new(void) { TW_CALL(zmq_ctx_new, NULL); }
int zmq_ctx_term(void *c) { TW_CALL(zmq_ctx_term, -1, c); }
void *zmq_socket(void *c, int type) { TW_CALL(zmq_socket, NULL, c, type); }
int zmq_close(void *s) { TW_CALL(zmq_close, -1, s); }
int zmq_bind(void *s, const char *a) { TW_CALL(zmq_bind, -1, s, a); }
int zmq_connect(void *s, const char *a) { TW_CALL(zmq_connect, -1, s, a); }
int zmq_setsockopt(void *s, int o, const void *v, size_t n) { TW_CALL(zmq_setsockopt, -1, s, o, v, n); }
int zmq_getsockopt(void *s, int o, void *v, size_t *n) { TW_CALL(zmq_getsockopt, -1, s, o, v, n); }
int zmq_socket_monitor(void *s, const char *a, int ev) { TW_CALL(zmq_socket_monitor, -1, s, a, ev); }
int zmq_send(void *s, const void *b, size_t n, int fl) { TW_CALL(zmq_send, -1, s, b, n, fl); }
int zmq_recv(void *s, void *b, size_t n, int fl) { TW_CALL(zmq_recv, -1, s, b, n, fl); }
int zmq_poll(zmq_pollitem_t *it, int n, long t) { TW_CALL(zmq_poll, -1, it, n, t); }
int zmq_msg_init(zmq_msg_t *m) { TW_CALL(zmq_msg_init, -1, m); }
int zmq_msg_close(zmq_msg_t *m) { TW_CALL(zmq_msg_close, -1, m); }
int zmq_msg_recv(zmq_msg_t *m, void *s, int fl) { TW_CALL(zmq_msg_recv, -1, m, s, fl); }
int zmq_msg_move(zmq_msg_t *d, zmq_msg_t *s) { TW_CALL(zmq_msg_move, -1, d, s); }
void *zmq_msg_data(zmq_msg_t *m) { TW_CALL(zmq_msg_data, NULL, m); }
size_t zmq_msg_size(const zmq_msg_t *m) { TW_CALL(zmq_msg_size, 0, m); }
int zmq_msg_more(const zmq_msg_t *m) { TW_CALL(zmq_msg_more, 0, m); }
int zmq_has(const char *cap) { TW_CALL(zmq_has, 0, cap); }
int zmq_curve_keypair(char *pub, char *sec) { TW_CALL(zmq_curve_keypair, -1, pub, sec); }
int zmq_curve_public(char *pub, const char *sec) { TW_CALL(zmq_curve_public, -1, pub, sec); }
char *zmq_z85_encode(char *d, const uint8_t *data, size_t n) { TW_CALL(zmq_z85_encode, NULL, d, data, n); }
uint8_t *zmq_z85_decode(uint8_t *d, const char *s) { TW_CALL(zmq_z85_decode, NULL, d, s); }

int zmq_errno(void)
{
    return z_ok() ? z.zmq_errno() : errno;
}

const char *zmq_strerror(int e)
{
    if (!z_ok())
        return z_error;
    return z.zmq_strerror(e);
}

void zmq_version(int *major, int *minor, int *patch)
{
    if (!z_ok()) {
        *major = *minor = *patch = 0;
        return;
    }
    z.zmq_version(major, minor, patch);
}
