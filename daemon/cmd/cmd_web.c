/* cmd_web.c: `twitchd web`: the reference visualiser. A small web server
 * that subscribes to a running daemon (publish.endpoint) and serves, on
 * web.listen, one page that shows it live: traces, events, the session's
 * LTR count and insertion train, status, and session controls forwarded
 * to control.endpoint. The page's files are in web.root (web/ in the
 * source tree, $(PREFIX)/share/twitchd/web once installed).
 *
 * main() of the command as a checklist: options, configuration, page
 * files, ZeroMQ context, hub, subscriber thread, HTTP server; wait for
 * SIGINT/SIGTERM; stop in reverse (the hub is closed first, so that every
 * open stream ends at once).
 *
 * Exit status: 0 stopped by a signal, 64 usage, 70 internal error, 78
 * configuration error (a bad key, no page files in web.root, an address
 * that cannot be listened on or a publish endpoint that cannot be
 * connected to).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "commands.h"
#include "log.h"
#include "web_http.h"
#include "web_hub.h"
#include "web_sub.h"

#ifndef TW_VERSION
#define TW_VERSION "unknown"
#endif

#define WEB_TICK_NS 100000000L /* how often the main thread checks the flag: 100 ms */
#define WEB_SHARE "/../share/twitchd/web" /* web.root when empty: beside the binary */
#define WEB_DRAIN_NS 100000000L /* after the streams end, before the server stops: 100 ms
                                   for their last chunk to go out */

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static const char usage[] =
    "usage: twitchd web [-c FILE] [-o SECTION.KEY=VALUE]...\n"
    "\n"
    "Serve the live view of a running daemon in a browser: traces, events,\n"
    "the session's LTR count and insertion train, status, and session controls.\n"
    "It subscribes to publish.endpoint, sends session controls to\n"
    "control.endpoint, and listens on web.listen (default 127.0.0.1:8080);\n"
    "open http://127.0.0.1:8080/ there. SIGTERM/SIGINT stop it.\n"
    "\n"
    "  -c, --config FILE     configuration (default " TW_CONFIG_DEFAULT_PATH
    " if it exists)\n"
    "  -o SECTION.KEY=VALUE  override one setting, e.g. -o web.listen=127.0.0.1:8081\n"
    "  -h, --help            this text\n"
    "\n"
    "exit status: 0 stopped by a signal, 78 bad configuration (or an address that\n"
    "cannot be listened on, or no page files in web.root), 70 internal error.\n";

/* web.root, or the share directory beside the binary when it is empty. */
static int resolve_root(const char *root, char *out, size_t len)
{
    if (*root) {
        snprintf(out, len, "%s", root);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if ((size_t)snprintf(out, len, "%s" WEB_SHARE, exe) >= len)
        return -1;
    char real[PATH_MAX];
    if (realpath(out, real))
        snprintf(out, len, "%s", real);
    return 0;
}

int tw_cmd_web(int argc, char **argv)
{
    tw_cli_config cc = {0};
    int rc = tw_cli_parse(argc, argv, &cc, usage, "twitchd web");
    if (rc >= 0)
        return rc;
    if (!cc.config_path && access(TW_CONFIG_DEFAULT_PATH, R_OK) == 0)
        cc.config_path = TW_CONFIG_DEFAULT_PATH;
    static tw_config cfg;
    if (tw_cli_load_web(&cc, &cfg, "twitchd web") != 0)
        return EX_CONFIG;
    tw_log_set_level(cfg.log_level);

    char root[PATH_MAX + 64], index[PATH_MAX + 80], endpoint[512], err[512];
    if (resolve_root(cfg.web_root, root, sizeof root) != 0) {
        tw_log(TW_LOG_ERR, "web.root is empty and the binary's directory is unknown: set web.root");
        return EX_CONFIG;
    }
    snprintf(index, sizeof index, "%s/index.html", root);
    if (access(index, R_OK) != 0) {
        tw_log(TW_LOG_ERR, "web.root '%s': no readable index.html (%s); set web.root to the "
               "page's directory (web/ in the source tree)", root, strerror(errno));
        return EX_CONFIG;
    }
    if (tw_web_pick_endpoint(cfg.pub_endpoint, endpoint, sizeof endpoint, err, sizeof err) != 0) {
        tw_log(TW_LOG_ERR, "%s", err);
        return EX_CONFIG;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = EX_SOFTWARE;
    tw_web_sub *sub = NULL;
    tw_web_http *http = NULL;
    void *zctx = zmq_ctx_new();
    tw_web_hub *hub = tw_web_hub_create((size_t)cfg.web_max_clients,
                                        (size_t)cfg.web_client_queue);
    if (!zctx || !hub) {
        tw_log(TW_LOG_ERR, "web: out of memory");
        goto out;
    }
    sub = tw_web_sub_start(zctx, endpoint, hub, err, sizeof err);
    if (!sub) {
        tw_log(TW_LOG_ERR, "%s", err);
        rc = EX_CONFIG;
        goto out;
    }
    char hello[TW_WEB_HELLO_MAX];
    snprintf(hello, sizeof hello,
             "retry: 1000\n\ndata: {\"topic\":\"web.hello\",\"version\":\"%s\",\"max_clients\":%d}\n\n",
             TW_VERSION, cfg.web_max_clients);
    tw_web_http_params hp = {
        .listen = cfg.web_listen,
        .root = root,
        .hub = hub,
        .max_clients = (size_t)cfg.web_max_clients,
        .zctx = zctx,
        .ctl_endpoint = cfg.ctl_endpoint,
        .hello = hello,
    };
    http = tw_web_http_start(&hp, err, sizeof err);
    if (!http) {
        tw_log(TW_LOG_ERR, "%s", err);
        rc = EX_CONFIG;
        goto out;
    }
    /* the URL with the port actually bound (web.listen may give port 0) */
    char url[300];
    const char *colon = strrchr(cfg.web_listen, ':');
    snprintf(url, sizeof url, "http://%.*s:%u/", (int)(colon - cfg.web_listen), cfg.web_listen,
             tw_web_http_get_port(http));
    tw_log(TW_LOG_INFO, "web: serving %s on %s (daemon: %s, control: %s)", root, url, endpoint,
           *cfg.ctl_endpoint ? cfg.ctl_endpoint : "none");
    {
        struct sockaddr_storage sa;
        socklen_t salen;
        int loopback = 1;
        char why[64];
        if (tw_web_parse_listen(cfg.web_listen, &sa, &salen, &loopback, why, sizeof why) == 0 &&
            !loopback)
            tw_log(TW_LOG_WARNING,
                   "web: web.listen '%s' is not loopback: anyone who reaches it sees the signal "
                   "and can start and stop sessions%s (there is no login; keep it on 127.0.0.1 "
                   "and use an SSH tunnel unless the network is trusted)",
                   cfg.web_listen, *cfg.ctl_endpoint ? "" : " (when control.endpoint is set)");
    }

    while (!g_stop) {
        struct timespec t = {0, WEB_TICK_NS};
        nanosleep(&t, NULL);
    }
    tw_log(TW_LOG_INFO, "web: stopping");
    tw_web_hub_close(hub);
    struct timespec drain = {0, WEB_DRAIN_NS};
    nanosleep(&drain, NULL);
    rc = 0;
out:
    if (hub)
        tw_web_hub_close(hub);
    tw_web_http_stop(http);
    tw_web_sub_stop(sub);
    tw_web_hub_destroy(hub);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}
