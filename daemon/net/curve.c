/* curve.c: see curve.h. */
#include "curve.h"
#include "thread_name.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01" /* RFC 27 */
#define ZAP_FRAMES 7                          /* request frames with one credential */
#define TW_CURVE_LOG_S 10                     /* one log line per refused key per this, s */

struct tw_curve {
    char pub[TW_CURVE_KEYLEN + 1], sec[TW_CURVE_KEYLEN + 1];
    char (*allow)[TW_CURVE_KEYLEN + 1];
    size_t n_allow;
    pthread_mutex_t mu;
    struct zap {
        void *ctx;
        void *sock;
        pthread_t th;
    } zap[TW_CURVE_MAX_CTX];
    int n_zap;
    unsigned long refused;               /* ZAP refusals (handler threads) */
    char last_refused[TW_CURVE_KEYLEN + 1];
    time_t last_log;
};

/* 1 when s holds exactly a valid Z85 key. */
static int z85_key(const char *s)
{
    uint8_t bin[32];
    return strlen(s) == TW_CURVE_KEYLEN && zmq_z85_decode(bin, s) != NULL;
}

/* The key of one line: "public = KEY" / "secret = KEY" (name set), a bare
 * KEY (name ""), each optionally followed by whitespace and a comment; or
 * a blank or '#' comment line (key ""). Z85 has '#' and '=' among its
 * characters, so a line is a key line when it has that shape, whatever
 * its first character. -1 when the line is none of these. */
static int line_key(char *line, char *name, size_t nlen, char *key)
{
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    p[strcspn(p, "\r\n")] = '\0';
    name[0] = key[0] = '\0';
    static const char *const names[] = {"public", "secret"};
    for (int i = 0; i < 2; i++) {
        size_t nl = strlen(names[i]);
        if (strncmp(p, names[i], nl) != 0)
            continue;
        char *q = p + nl;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != '=')
            continue;
        q++;
        while (*q == ' ' || *q == '\t')
            q++;
        size_t kl = strcspn(q, " \t");
        if (kl == TW_CURVE_KEYLEN) {
            memcpy(key, q, kl);
            key[kl] = '\0';
            if (z85_key(key) && nlen > nl) {
                memcpy(name, names[i], nl + 1);
                return 0;
            }
        }
        key[0] = '\0';
        return -1;
    }
    size_t kl = strcspn(p, " \t");
    if (kl == TW_CURVE_KEYLEN) {
        memcpy(key, p, kl);
        key[kl] = '\0';
        if (z85_key(key))
            return 0;
        key[0] = '\0';
    }
    return *p == '#' || *p == '\0' ? 0 : -1;
}

int tw_curve_read_keyfile(const char *path, char *pub, char *sec, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        tw_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[512], name[32], key[TW_CURVE_KEYLEN + 1];
    int ln = 0, have_pub = 0, have_sec = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        if (line_key(line, name, sizeof name, key) != 0 ||
            (key[0] && strcmp(name, "public") && strcmp(name, "secret"))) {
            tw_set_err(err, errlen, "%s:%d: not 'public = KEY' or 'secret = KEY' (a key is 40 Z85 characters)",
                       path, ln);
            fclose(f);
            return -1;
        }
        if (!key[0])
            continue;
        if (!strcmp(name, "public")) {
            memcpy(pub, key, sizeof key);
            have_pub = 1;
        } else if (sec) {
            memcpy(sec, key, sizeof key);
            have_sec = 1;
        }
    }
    fclose(f);
    if (!have_pub || (sec && !have_sec)) {
        tw_set_err(err, errlen, "%s: no '%s = KEY' line", path, have_pub ? "secret" : "public");
        return -1;
    }
    if (sec) { /* the pair must match */
        char derived[TW_CURVE_KEYLEN + 1];
        if (zmq_curve_public(derived, sec) != 0 || strcmp(derived, pub) != 0) {
            tw_set_err(err, errlen, "%s: the public key does not belong to the secret key", path);
            return -1;
        }
    }
    return 0;
}

/* A public key given on a command line: 40 Z85 characters, or a file
 * holding one (.pub or .key). 0, or -1 with err set. */
static int read_public(const char *arg, char *pub, char *err, size_t errlen)
{
    if (strlen(arg) == TW_CURVE_KEYLEN && z85_key(arg) && access(arg, F_OK) != 0) {
        memcpy(pub, arg, TW_CURVE_KEYLEN + 1);
        return 0;
    }
    return tw_curve_read_keyfile(arg, pub, NULL, err, errlen);
}

static int load_allow(tw_curve *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        tw_set_err(err, errlen, "allowlist %s: %s", path, strerror(errno));
        return -1;
    }
    char line[512], name[32], key[TW_CURVE_KEYLEN + 1];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        if (line_key(line, name, sizeof name, key) != 0 || (name[0] && strcmp(name, "public"))) {
            tw_set_err(err, errlen, "%s:%d: not a public key (40 Z85 characters, or 'public = KEY')",
                       path, ln);
            fclose(f);
            return -1;
        }
        if (!key[0])
            continue;
        if (c->n_allow == TW_CURVE_MAX_CLIENTS) {
            tw_set_err(err, errlen, "%s:%d: more than %d keys", path, ln, TW_CURVE_MAX_CLIENTS);
            fclose(f);
            return -1;
        }
        memcpy(c->allow[c->n_allow++], key, sizeof key);
    }
    fclose(f);
    if (c->n_allow == 0) {
        tw_set_err(err, errlen, "allowlist %s holds no key: no client could connect", path);
        return -1;
    }
    return 0;
}

tw_curve *tw_curve_load(const char *key_file, const char *allow_file, char *err, size_t errlen)
{
    if (!zmq_has("curve")) {
        tw_set_err(err, errlen, "this libzmq has no CURVE support");
        return NULL;
    }
    tw_curve *c = calloc(1, sizeof *c);
    if (c)
        c->allow = calloc(TW_CURVE_MAX_CLIENTS, sizeof *c->allow);
    if (!c || !c->allow) {
        free(c);
        tw_set_err(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    if (tw_curve_read_keyfile(key_file, c->pub, c->sec, err, errlen) != 0 ||
        load_allow(c, allow_file, err, errlen) != 0) {
        tw_curve_free(c);
        return NULL;
    }
    return c;
}

size_t tw_curve_get_clients(const tw_curve *c) { return c->n_allow; }

static int allowed(const tw_curve *c, const char *z85)
{
    for (size_t i = 0; i < c->n_allow; i++)
        if (!memcmp(c->allow[i], z85, TW_CURVE_KEYLEN))
            return 1;
    return 0;
}

/* One ZAP request: read its frames, answer 200 or 400. -1 on ETERM. */
static int zap_once(tw_curve *c, void *s)
{
    zmq_msg_t f[ZAP_FRAMES + 1];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
            return errno == ETERM ? -1 : 0;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_FRAMES + 1)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    const char *status = "400", *text = "not allowed";
    char z85[TW_CURVE_KEYLEN + 1] = "";
    if (n >= 6 && zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
        n == ZAP_FRAMES && zmq_msg_size(&f[6]) == 32) {
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
        if (allowed(c, z85)) {
            status = "200";
            text = "OK";
        } else {
            text = "client key not in the allowlist";
        }
    } else {
        text = "only CURVE clients are admitted";
    }
    if (strcmp(status, "200")) {
        /* a refused client reconnects every 100 ms: log a key once per
         * TW_CURVE_LOG_S, with the count of refusals since */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        pthread_mutex_lock(&c->mu); /* one handler thread per context */
        c->refused++;
        if (strcmp(c->last_refused, z85) || now.tv_sec - c->last_log >= TW_CURVE_LOG_S) {
            tw_log(TW_LOG_WARNING, "curve: refused a client%s%s: %s (%lu refusals so far)",
                   z85[0] ? " with key " : "", z85, text, c->refused);
            snprintf(c->last_refused, sizeof c->last_refused, "%s", z85);
            c->last_log = now.tv_sec;
        }
        pthread_mutex_unlock(&c->mu);
    }
    /* reply: version, request id, status, text, user id, metadata */
    const void *rep[6] = {"1.0", n > 1 ? zmq_msg_data(&f[1]) : "", status, text, z85, ""};
    size_t len[6] = {3, n > 1 ? zmq_msg_size(&f[1]) : 0, 3, strlen(text), strlen(z85), 0};
    for (int i = 0; i < 6; i++)
        zmq_send(s, rep[i], len[i], i < 5 ? ZMQ_SNDMORE : 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return 0;
}

static void *zap_main(void *arg)
{
    tw_thread_name("tw-zap");
    struct {
        tw_curve *c;
        void *sock;
    } *a = arg;
    tw_curve *c = a->c;
    void *s = a->sock;
    free(a);
    while (zap_once(c, s) == 0) {
    }
    zmq_close(s); /* ETERM: the context is ending */
    return NULL;
}

int tw_curve_server(tw_curve *c, void *ctx, void *sock, char *err, size_t errlen)
{
    pthread_mutex_lock(&c->mu);
    int have = 0;
    for (int i = 0; i < c->n_zap; i++)
        if (c->zap[i].ctx == ctx)
            have = 1;
    if (!have) {
        if (c->n_zap == TW_CURVE_MAX_CTX) {
            pthread_mutex_unlock(&c->mu);
            tw_set_err(err, errlen, "curve: too many contexts");
            return -1;
        }
        void *z = zmq_socket(ctx, ZMQ_REP);
        int zero = 0;
        if (!z || zmq_setsockopt(z, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            zmq_bind(z, ZAP_ENDPOINT) != 0) {
            tw_set_err(err, errlen, "curve: cannot start the ZAP handler: %s",
                       zmq_strerror(errno));
            if (z)
                zmq_close(z);
            pthread_mutex_unlock(&c->mu);
            return -1;
        }
        struct {
            tw_curve *c;
            void *sock;
        } *a = malloc(sizeof *a);
        struct zap *zp = &c->zap[c->n_zap];
        if (a) {
            a->c = c;
            a->sock = z;
        }
        if (!a || pthread_create(&zp->th, NULL, zap_main, a) != 0) {
            free(a);
            zmq_close(z);
            pthread_mutex_unlock(&c->mu);
            tw_set_err(err, errlen, "curve: cannot start the ZAP handler thread");
            return -1;
        }
        zp->ctx = ctx;
        zp->sock = z;
        c->n_zap++;
    }
    pthread_mutex_unlock(&c->mu);
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->sec, TW_CURVE_KEYLEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "twitchd", 7) != 0) {
        tw_set_err(err, errlen, "curve: cannot make the socket a CURVE server: %s",
                   zmq_strerror(errno));
        return -1;
    }
    return 0;
}

void tw_curve_free(tw_curve *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_zap; i++)
        pthread_join(c->zap[i].th, NULL);
    pthread_mutex_destroy(&c->mu);
    explicit_bzero(c->sec, sizeof c->sec);
    free(c->allow);
    free(c);
}

/* Make sock a CURVE client of the server with public key server_pub,
 * using the client's own key pair. 0, or -1 with err set. */
static int set_client(void *sock, const char *server_pub, const char *pub, const char *sec,
                      char *err, size_t errlen)
{
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_pub, TW_CURVE_KEYLEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, TW_CURVE_KEYLEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, TW_CURVE_KEYLEN + 1) != 0) {
        tw_set_err(err, errlen, "cannot make the socket a CURVE client: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

int tw_curve_client_opts(void *sock, const char *server_arg, const char *key_file, char *err,
                         size_t errlen)
{
    if (!server_arg && !key_file)
        return 0;
    if (!server_arg || !key_file) {
        tw_set_err(err, errlen, "--curve-server and --curve-key go together");
        return -1;
    }
    char spub[TW_CURVE_KEYLEN + 1], pub[TW_CURVE_KEYLEN + 1], sec[TW_CURVE_KEYLEN + 1];
    if (read_public(server_arg, spub, err, errlen) != 0 ||
        tw_curve_read_keyfile(key_file, pub, sec, err, errlen) != 0)
        return -1;
    int rc = set_client(sock, spub, pub, sec, err, errlen);
    explicit_bzero(sec, sizeof sec);
    return rc;
}

int tw_curve_keygen(const char *base, char *err, size_t errlen)
{
    char pub[TW_CURVE_KEYLEN + 1], sec[TW_CURVE_KEYLEN + 1], path[4096];
    if (zmq_curve_keypair(pub, sec) != 0) {
        tw_set_err(err, errlen, "cannot make a key pair: %s", zmq_strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s.key", base);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        tw_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    int bad = !f || fprintf(f, "# twitchd CURVE key pair: keep this file secret\n"
                               "public = %s\nsecret = %s\n", pub, sec) < 0;
    bad |= f ? fclose(f) != 0 : (close(fd), 1);
    explicit_bzero(sec, sizeof sec);
    if (bad) {
        tw_set_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s.pub", base);
    f = fopen(path, "w");
    if (!f || fprintf(f, "# twitchd CURVE public key\npublic = %s\n", pub) < 0 || fclose(f) != 0) {
        tw_set_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
