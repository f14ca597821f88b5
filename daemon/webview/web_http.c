/* web_http.c: see web_http.h. libmicrohttpd 0.9.75 (Debian 12), one
 * thread per connection: the stream's content reader may wait on the
 * hub, which libmicrohttpd allows in that mode only (returning 0 would
 * make it spin). */
#include "web_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "web_ctl.h"

/* libmicrohttpd is loaded when the web view starts, not linked: it pulls
 * in GnuTLS and eight more libraries whose start-up (about 3 ms on the
 * machines we measure) every other command (replay, analyze, ctl, sub)
 * would pay for nothing. The calls below go through this table, filled
 * by load_mhd(); the macros keep the library's own names at the call
 * sites. */
#define TW_MHD_SONAME "libmicrohttpd.so.12"
#define TW_MHD_FUNCS(X)                                                        \
    X(MHD_start_daemon) X(MHD_stop_daemon) X(MHD_get_daemon_info)             \
    X(MHD_lookup_connection_value) X(MHD_get_connection_info)                 \
    X(MHD_set_connection_option) X(MHD_create_response_from_buffer)           \
    X(MHD_create_response_from_fd64) X(MHD_create_response_from_callback)     \
    X(MHD_add_response_header) X(MHD_queue_response) X(MHD_destroy_response)

static struct {
#define TW_MHD_MEMBER(f) __typeof__(&f) p_##f;
    TW_MHD_FUNCS(TW_MHD_MEMBER)
#undef TW_MHD_MEMBER
} mhd;

#define MHD_start_daemon (*mhd.p_MHD_start_daemon)
#define MHD_stop_daemon (*mhd.p_MHD_stop_daemon)
#define MHD_get_daemon_info (*mhd.p_MHD_get_daemon_info)
#define MHD_lookup_connection_value (*mhd.p_MHD_lookup_connection_value)
#define MHD_get_connection_info (*mhd.p_MHD_get_connection_info)
#define MHD_set_connection_option (*mhd.p_MHD_set_connection_option)
#define MHD_create_response_from_buffer (*mhd.p_MHD_create_response_from_buffer)
#define MHD_create_response_from_fd64 (*mhd.p_MHD_create_response_from_fd64)
#define MHD_create_response_from_callback (*mhd.p_MHD_create_response_from_callback)
#define MHD_add_response_header (*mhd.p_MHD_add_response_header)
#define MHD_queue_response (*mhd.p_MHD_queue_response)
#define MHD_destroy_response (*mhd.p_MHD_destroy_response)

/* Loads the library once (kept loaded: its threads may outlive a stop).
 * 0, or -1 with the reason in err. */
static int load_mhd(char *err, size_t errlen)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static int loaded;
    int rc = 0;
    pthread_mutex_lock(&mu);
    if (!loaded) {
        void *lib = dlopen(TW_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            tw_set_err(err, errlen, "cannot load %s (package libmicrohttpd12): %s",
                       TW_MHD_SONAME, dlerror());
            rc = -1;
        }
#define TW_MHD_LOAD(f)                                                         \
    if (rc == 0 && !(*(void **)&mhd.p_##f = dlsym(lib, #f))) {                 \
        tw_set_err(err, errlen, "%s has no %s: %s", TW_MHD_SONAME, #f, dlerror()); \
        rc = -1;                                                               \
    }
        TW_MHD_FUNCS(TW_MHD_LOAD)
#undef TW_MHD_LOAD
        if (rc == 0)
            loaded = 1;
        else if (lib)
            dlclose(lib);
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

#define CSP "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; " \
            "frame-ancestors 'none'"
#define SSE_BLOCK 16384 /* bytes libmicrohttpd asks the stream for at once */

/* Connections from one client address that are not event streams. */
typedef struct {
    struct sockaddr_storage addr; /* the address (port 0) */
    unsigned n;                   /* 0: a free entry */
} addr_count;

/* Per connection (libmicrohttpd's socket context). */
typedef struct {
    struct sockaddr_storage addr;
    int stream;                   /* 1: an event stream (not counted) */
} conn_ctx;

struct tw_web_http {
    struct MHD_Daemon *d;
    tw_web_http_params p;
    int loopback;
    char listen_host[256];        /* the host of web.listen as written ("[::1]" with brackets) */
    unsigned port;
    pthread_mutex_t mu;           /* guards addrs */
    addr_count *addrs;            /* one per connection at most */
    size_t naddrs;
    unsigned long refused;        /* connections refused by the per-address bound */
};

/* One POST /api/ctl in progress (the body arrives in pieces). */
typedef struct {
    char *body;
    size_t len;
    int too_big;
} post_ctx;

int tw_web_parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *salen,
                        int *loopback, char *err, size_t errlen)
{
    char host[256], port[16];
    const char *hp, *pp;
    size_t hl;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            tw_set_err(err, errlen, "'%s': expected [IPV6]:PORT", s);
            return -1;
        }
        hp = s + 1;
        hl = (size_t)(close - hp);
        pp = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            tw_set_err(err, errlen, "'%s': expected HOST:PORT, e.g. 127.0.0.1:8080", s);
            return -1;
        }
        if (strchr(s, ':') != colon) {
            tw_set_err(err, errlen, "'%s': an IPv6 address goes in brackets, e.g. [::1]:8080", s);
            return -1;
        }
        hp = s;
        hl = (size_t)(colon - s);
        pp = colon + 1;
    }
    if (hl == 0 || hl >= sizeof host) {
        tw_set_err(err, errlen, "'%s': no host (e.g. 127.0.0.1:8080, or 0.0.0.0:8080 for every "
                   "interface)", s);
        return -1;
    }
    memcpy(host, hp, hl);
    host[hl] = '\0';
    size_t pl = strlen(pp);
    long pv = 0;
    for (size_t i = 0; i < pl; i++)
        pv = isdigit((unsigned char)pp[i]) && pv <= 65535 ? pv * 10 + (pp[i] - '0') : -1;
    if (pl == 0 || pl >= sizeof port || pv < 0 || pv > 65535) {
        tw_set_err(err, errlen, "'%s': the port must be a number 0 .. 65535", s);
        return -1;
    }
    memcpy(port, pp, pl + 1);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res) {
        tw_set_err(err, errlen, "'%s': host '%s': %s", s, host, gai_strerror(rc));
        return -1;
    }
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
                    (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127);
    }
    return 0;
}

/* The length of the host part of "HOST[:PORT]" or "[IPV6][:PORT]"
 * (brackets kept); -1 when a bracket is not closed. */
static long host_len(const char *hp)
{
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        return close ? (long)(close - hp) + 1 : -1;
    }
    const char *colon = strchr(hp, ':');
    return colon ? (long)(colon - hp) : (long)strlen(hp);
}

/* With a loopback listener: is Host one of this machine's loopback names,
 * or the host web.listen names? */
static int host_ok(const tw_web_http *h, struct MHD_Connection *c)
{
    if (!h->loopback)
        return 1;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    long n = host ? host_len(host) : -1;
    if (n <= 0)
        return 0;
    const char *const names[] = {"localhost", "127.0.0.1", "[::1]", h->listen_host};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == (size_t)n && !strncasecmp(host, names[i], (size_t)n))
            return 1;
    return 0;
}

/* A POST's Origin, when there is one, is this server: "http://" + Host
 * (the scheme and host compare without case). 1 when fine. */
static int origin_ok(struct MHD_Connection *c, const char **origin, const char **host)
{
    *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!*origin)
        return 1;
    return *host && !strncasecmp(*origin, "http://", 7) && !strcasecmp(*origin + 7, *host);
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *ctype,
                               const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_plain(struct MHD_Connection *c, unsigned status, const char *text)
{
    return respond(c, status, "text/plain; charset=utf-8", text);
}

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".png", "image/png"},
        {".svg", "image/svg+xml"},             {".ico", "image/x-icon"},
        {".json", "application/json"},         {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

static int name_ok(const char *n)
{
    if (!*n || *n == '.' || strlen(n) > 128)
        return 0;
    for (; *n; n++)
        if (!isalnum((unsigned char)*n) && *n != '.' && *n != '_' && *n != '-')
            return 0;
    return 1;
}

static enum MHD_Result serve_file(tw_web_http *h, struct MHD_Connection *c, const char *url)
{
    const char *name = strcmp(url, "/") ? url + 1 : "index.html";
    if (!name_ok(name))
        return respond_plain(c, MHD_HTTP_NOT_FOUND, "not found\n");
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", h->p.root, name) >= sizeof path)
        return respond_plain(c, MHD_HTTP_NOT_FOUND, "not found\n");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return respond_plain(c, MHD_HTTP_NOT_FOUND, "not found\n");
    }
    struct MHD_Response *r = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(name));
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    ssize_t n = tw_web_client_read(cls, buf, max, TW_WEB_SSE_WAIT_MS);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == 0 && max >= 3) { /* a comment: keeps the connection busy, finds a closed one */
        memcpy(buf, ":\n\n", 3);
        return 3;
    }
    return n;
}

static void sse_free(void *cls)
{
    tw_web_hub_leave(cls);
}

static void became_stream(tw_web_http *h, struct MHD_Connection *c);

static enum MHD_Result serve_events(tw_web_http *h, struct MHD_Connection *c)
{
    const char *hello = h->p.hello ? h->p.hello : "";
    tw_web_client *cl = tw_web_hub_join(h->p.hub, hello, strlen(hello));
    if (cl)
        became_stream(h, c);
    if (!cl) {
        char msg[128];
        snprintf(msg, sizeof msg, "too many live views (web.max_clients = %zu)\n",
                 h->p.max_clients);
        return respond_plain(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
    }
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK, sse_read, cl, sse_free);
    if (!r) {
        tw_web_hub_leave(cl);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r); /* the client leaves when the connection ends (sse_free) */
    return ret;
}

/* 403 {"ok": false, "error": ...} for a POST from another site's page. */
static enum MHD_Result refuse_origin(struct MHD_Connection *c, const char *origin,
                                     const char *host)
{
    char why[600];
    snprintf(why, sizeof why, "forbidden: Origin '%.200s' is not this server (http://%.200s): "
             "control requests are taken from this server's page only", origin,
             host ? host : "?");
    json_t *o = json_pack("{s:b, s:s}", "ok", 0, "error", why);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    enum MHD_Result r = respond(c, MHD_HTTP_FORBIDDEN, "application/json",
                                text ? text : "{\"ok\":false,\"error\":\"forbidden: Origin\"}");
    free(text);
    return r;
}

static enum MHD_Result serve_ctl(tw_web_http *h, struct MHD_Connection *c, post_ctx *pc)
{
    const char *origin, *host;
    if (!origin_ok(c, &origin, &host))
        return refuse_origin(c, origin, host);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, "application/json", 16) || (ct[16] && ct[16] != ';'))
        return respond(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "application/json",
                       "{\"ok\":false,\"error\":\"Content-Type must be application/json\"}");
    if (pc->too_big)
        return respond(c, MHD_HTTP_CONTENT_TOO_LARGE, "application/json",
                       "{\"ok\":false,\"error\":\"request too large (limit 65536 bytes)\"}");
    char *reply;
    int status = tw_web_ctl_forward(h->p.zctx, h->p.ctl_endpoint, pc->body ? pc->body : "",
                                    pc->len, TW_WEB_CTL_TIMEOUT_MS, &reply);
    if (status < 0)
        return MHD_NO;
    enum MHD_Result ret = respond(c, (unsigned)status, "application/json", reply);
    free(reply);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    tw_web_http *h = cls;
    int post = !strcmp(method, MHD_HTTP_METHOD_POST);
    if (post && !strcmp(url, "/api/ctl")) {
        post_ctx *pc = *con_cls;
        if (!pc) { /* first call: headers only */
            pc = calloc(1, sizeof *pc);
            if (!pc)
                return MHD_NO;
            *con_cls = pc;
            return MHD_YES;
        }
        if (*upload_size) {
            if (!pc->too_big && pc->len + *upload_size <= TW_WEB_CTL_MAX_BODY) {
                char *b = realloc(pc->body, pc->len + *upload_size + 1);
                if (!b)
                    return MHD_NO;
                memcpy(b + pc->len, upload, *upload_size);
                pc->body = b;
                pc->len += *upload_size;
                b[pc->len] = '\0';
            } else {
                pc->too_big = 1;
            }
            *upload_size = 0;
            return MHD_YES;
        }
        if (!host_ok(h, c))
            return respond_plain(c, MHD_HTTP_FORBIDDEN, "forbidden: Host is not this machine\n");
        return serve_ctl(h, c, pc);
    }
    if (!host_ok(h, c))
        return respond_plain(c, MHD_HTTP_FORBIDDEN, "forbidden: Host is not this machine\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return respond_plain(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (!strcmp(url, "/events"))
        return serve_events(h, c);
    return serve_file(h, c, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    post_ctx *pc = *con_cls;
    if (pc) {
        free(pc->body);
        free(pc);
        *con_cls = NULL;
    }
}

/* ---- connections per client address ---- */

/* a with its port zeroed, for comparing addresses. */
static void addr_key(struct sockaddr_storage *k, const struct sockaddr *a)
{
    memset(k, 0, sizeof *k);
    if (a && a->sa_family == AF_INET) {
        struct sockaddr_in *o = (struct sockaddr_in *)k;
        o->sin_family = AF_INET;
        o->sin_addr = ((const struct sockaddr_in *)a)->sin_addr;
    } else if (a && a->sa_family == AF_INET6) {
        struct sockaddr_in6 *o = (struct sockaddr_in6 *)k;
        o->sin6_family = AF_INET6;
        o->sin6_addr = ((const struct sockaddr_in6 *)a)->sin6_addr;
    }
}

/* The entry of address k (h->mu held); with make, a free one taken for
 * it. NULL: none (or no room: cannot happen, one entry per connection). */
static addr_count *addr_find(tw_web_http *h, const struct sockaddr_storage *k, int make)
{
    addr_count *free_one = NULL;
    for (size_t i = 0; i < h->naddrs; i++) {
        if (h->addrs[i].n && !memcmp(&h->addrs[i].addr, k, sizeof *k))
            return &h->addrs[i];
        if (!h->addrs[i].n && !free_one)
            free_one = &h->addrs[i];
    }
    if (make && free_one)
        free_one->addr = *k;
    return make ? free_one : NULL;
}

/* Accept policy: refuse a client address that holds
 * TW_WEB_CONNS_PER_ADDR connections that are not event streams. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addrlen;
    tw_web_http *h = cls;
    struct sockaddr_storage k;
    addr_key(&k, addr);
    pthread_mutex_lock(&h->mu);
    addr_count *e = addr_find(h, &k, 0);
    int full = e && e->n >= TW_WEB_CONNS_PER_ADDR;
    unsigned long refused = full ? ++h->refused : 0;
    pthread_mutex_unlock(&h->mu);
    if (full && (refused & (refused - 1)) == 0) { /* the 1st, 2nd, 4th, 8th ... */
        char name[INET6_ADDRSTRLEN] = "?";
        const void *ip = k.ss_family == AF_INET6
                             ? (const void *)&((struct sockaddr_in6 *)&k)->sin6_addr
                             : (const void *)&((struct sockaddr_in *)&k)->sin_addr;
        inet_ntop(k.ss_family == AF_INET6 ? AF_INET6 : AF_INET, ip, name, sizeof name);
        tw_log(TW_LOG_WARNING, "web: %s holds %d connections that are not event streams: "
               "new ones refused until they end (closed after %d s idle; %lu refused so far)",
               name, TW_WEB_CONNS_PER_ADDR, TW_WEB_IDLE_TIMEOUT_S, refused);
    }
    return full ? MHD_NO : MHD_YES;
}

/* Connections start and end: counted per address while not a stream. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    tw_web_http *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_ctx *cc = calloc(1, sizeof *cc);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!cc)
            return;
        addr_key(&cc->addr, ci ? ci->client_addr : NULL);
        pthread_mutex_lock(&h->mu);
        addr_count *e = addr_find(h, &cc->addr, 1);
        if (e)
            e->n++;
        else
            cc->stream = 1; /* no room to count it (cannot happen): not counted */
        pthread_mutex_unlock(&h->mu);
        *socket_context = cc;
        return;
    }
    conn_ctx *cc = *socket_context;
    if (!cc)
        return;
    if (!cc->stream) {
        pthread_mutex_lock(&h->mu);
        addr_count *e = addr_find(h, &cc->addr, 0);
        if (e)
            e->n--;
        pthread_mutex_unlock(&h->mu);
    }
    free(cc);
    *socket_context = NULL;
}

/* c is an event stream from now on: not counted, and its own timeout. */
static void became_stream(tw_web_http *h, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_ctx *cc = ci ? ci->socket_context : NULL;
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned)TW_WEB_STREAM_TIMEOUT_S);
    if (!cc || cc->stream)
        return;
    cc->stream = 1;
    pthread_mutex_lock(&h->mu);
    addr_count *e = addr_find(h, &cc->addr, 0);
    if (e)
        e->n--;
    pthread_mutex_unlock(&h->mu);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    tw_log(TW_LOG_WARNING, "web: http: %s", line);
}

tw_web_http *tw_web_http_start(const tw_web_http_params *p, char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    int loopback;
    char why[512];
    if (tw_web_parse_listen(p->listen, &sa, &salen, &loopback, why, sizeof why) != 0) {
        tw_set_err(err, errlen, "web.listen %s", why);
        return NULL;
    }
    if (load_mhd(err, errlen) != 0)
        return NULL;
    tw_web_http *h = calloc(1, sizeof *h);
    if (!h) {
        tw_set_err(err, errlen, "out of memory");
        return NULL;
    }
    h->p = *p;
    h->loopback = loopback;
    long hl = host_len(p->listen);
    snprintf(h->listen_host, sizeof h->listen_host, "%.*s", (int)(hl > 0 ? hl : 0), p->listen);
    unsigned limit = (unsigned)(p->max_clients + TW_WEB_EXTRA_CONNECTIONS);
    h->naddrs = limit + 1;
    h->addrs = calloc(h->naddrs, sizeof *h->addrs);
    if (!h->addrs) {
        tw_set_err(err, errlen, "out of memory");
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | MHD_USE_AUTO;
    uint16_t port;
    if (sa.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
        port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    } else {
        port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
    }
    errno = 0;
    h->d = MHD_start_daemon(flags, port, on_accept, h, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL, /* first: it
                                                                          logs the others */
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_LIMIT, limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TW_WEB_IDLE_TIMEOUT_S,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!h->d) {
        tw_set_err(err, errlen, "web.listen '%s': cannot listen%s%s", p->listen,
                   errno ? ": " : "", errno ? strerror(errno) : "");
        pthread_mutex_destroy(&h->mu);
        free(h->addrs);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    return h;
}

unsigned tw_web_http_get_port(const tw_web_http *h)
{
    return h->port;
}

void tw_web_http_stop(tw_web_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    pthread_mutex_destroy(&h->mu);
    free(h->addrs);
    free(h);
}
