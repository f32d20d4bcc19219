/*
 * server/listener.c - srv_run: start-up (load every active module, bind its
 * UDP port, start the workers: all or nothing), the listeners, shutdown.
 *
 * The listeners run on the calling thread's libuv loop and never wait for
 * a guest: a datagram is parsed, checked and queued, or answered at once
 * with an error (malformed, unknown module, too many arguments, too large,
 * overloaded). Workers send the replies of finished sandboxes themselves
 * with sendto on the module's socket (the kernel serialises datagrams).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "server/internal.h"

#define RECV_BUFFER_BYTES (4 << 20)
#define SEND_RETRY_MS 50

static char recv_buf[65536];            /* the listener thread's only */

void srv_log(const struct srv *srv, enum srv_log_level level, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };
    if (level > srv->set->log_level)
        return;
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld awsmrt: %s: ",
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

/* ===== Replies ========================================================== */

/* Send one datagram; if the socket buffer is full, a worker waits a
 * little (`tries` 2), the listener never does (1). */
static void send_reply(struct srv_module *mod, const struct sockaddr *to,
                       socklen_t tolen, const char *buf, size_t len, int tries)
{
    for (int i = 0; i < tries; i++) {
        if (sendto(mod->fd, buf, len, MSG_DONTWAIT, to, tolen) >= 0)
            return;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        if (i + 1 < tries) {
            struct pollfd p = { mod->fd, POLLOUT, 0 };
            poll(&p, 1, SEND_RETRY_MS);
        }
    }
    srv_log(mod->srv, SRV_LOG_WARN, "module \"%s\": reply lost: %s",
            mod->cfg->name, strerror(errno));
}

static void reply_error(struct srv_module *mod, const struct sockaddr *to,
                        const char *msg)
{
    char out[2048];
    size_t n = srv_error_reply(msg, out, sizeof out);
    socklen_t len = to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    atomic_fetch_add(&mod->srv->rejected, 1);
    srv_log(mod->srv, SRV_LOG_DEBUG, "module \"%s\": %s", mod->cfg->name, msg);
    if (n > 0)
        send_reply(mod, to, len, out, n, 1);
}

/* On a worker: answer a finished sandbox and free it. */
static void done_cb(struct sb *sb, void *ud)
{
    struct srv *srv = ud;
    char *out = malloc(SRV_MAX_DATAGRAM);
    size_t n = out ? sb_reply_build(sb, out, SRV_MAX_DATAGRAM) : 0;
    if (n > 0)
        send_reply(sb->mod, (struct sockaddr *)&sb->peer, sb->peer_len, out, n, 2);
    else
        srv_log(srv, SRV_LOG_ERROR, "module \"%s\": out of memory for a reply",
                sb->mod->cfg->name);
    if (sb->outcome != SB_OK)
        srv_log(srv, SRV_LOG_DEBUG, "module \"%s\": %s", sb->mod->cfg->name,
                sb->error);
    free(out);
    sb_free(sb);
    atomic_fetch_add(&srv->served, 1);
    atomic_fetch_sub(&srv->inflight, 1);
}

/* ===== Receiving ======================================================== */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(recv_buf, sizeof recv_buf);
}

static void admit(struct srv_module *mod, const char *buf, size_t len,
                  const struct sockaddr *from)
{
    struct srv *srv = mod->srv;
    char err[512];
    if (len > srv->set->max_request) {
        snprintf(err, sizeof err, "request too large: %zu bytes > %u",
                 len, srv->set->max_request);
        reply_error(mod, from, err);
        return;
    }
    if (atomic_load(&srv->inflight) >= srv->set->max_queued) {
        snprintf(err, sizeof err, "overloaded: %u requests in flight, try again",
                 srv->set->max_queued);
        reply_error(mod, from, err);
        return;
    }
    struct sb *sb = sb_request_parse(srv, buf, len, mod, err, sizeof err);
    if (!sb) {
        reply_error(mod, from, err);
        return;
    }
    sb->peer_len = from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                               : sizeof(struct sockaddr_in);
    memcpy(&sb->peer, from, sb->peer_len);
    sb->t_arrive = srv_now_ns();
    sb->deadline = sb->t_arrive + (uint64_t)mod->cfg->timeout_ms * 1000000ull;
    atomic_fetch_add(&srv->inflight, 1);
    sched_submit(srv->sched, sb);
}

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *from, unsigned flags)
{
    struct srv_module *mod = h->data;
    if (nread < 0) {
        srv_log(mod->srv, SRV_LOG_WARN, "module \"%s\": receive: %s",
                mod->cfg->name, uv_strerror((int)nread));
        return;
    }
    if (!from || mod->srv->draining)
        return;
    if (flags & UV_UDP_PARTIAL) {
        char err[128];
        snprintf(err, sizeof err, "request too large: over %zu bytes > %u",
                 sizeof recv_buf, mod->srv->set->max_request);
        reply_error(mod, from, err);
        return;
    }
    admit(mod, buf->base, (size_t)nread, from);
}

/* ===== Start-up ========================================================= */

__attribute__((format(printf, 5, 6)))
static int fail_module(const struct srv *srv, const struct srv_module_config *mc,
                       char *err, size_t errlen, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "%s:%d: module \"%s\": ", srv->cfg->file,
                     mc->line, mc->name);
    if (n < 0 || (size_t)n >= errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - n, fmt, ap);
    va_end(ap);
    return -1;
}

int srv_load_module(struct srv *srv, struct srv_module *mod, char *err,
                    size_t errlen)
{
    const struct srv_module_config *mc = mod->cfg;
    struct cache_options co = CACHE_OPTIONS_DEFAULT;
    char msg[1024];
    co.opt_level = srv->set->opt_level;
    co.bounds = srv->set->checked_bounds ? AWSM_BOUNDS_CHECKED : AWSM_BOUNDS_GUARD;
    co.disabled = srv->set->no_cache;
    if (cache_module_load(mc->path, &co, &mod->rt, NULL, msg, sizeof msg) != 0)
        return fail_module(srv, mc, err, errlen, "%s", msg);
    const struct wm_module *wm = rt_module_wasm(mod->rt);
    bool has_start = false;
    for (uint32_t i = 0; i < wm->nexports; i++) {
        const struct wm_export *e = &wm->exports[i];
        has_start |= e->kind == WM_EXTERN_FUNC && e->name.len == 6 &&
                     memcmp(e->name.str, "_start", 6) == 0;
    }
    if (!has_start)
        return fail_module(srv, mc, err, errlen, "%s exports no _start function "
                           "(awsmrt runs WASI commands)", mc->path);
    return 0;
}

static int bind_module(struct srv *srv, struct srv_module *mod, char *err,
                       size_t errlen)
{
    const struct srv_module_config *mc = mod->cfg;
    struct sockaddr_storage addr;
    int rc = strchr(srv->set->host, ':')
        ? uv_ip6_addr(srv->set->host, mc->port, (struct sockaddr_in6 *)&addr)
        : uv_ip4_addr(srv->set->host, mc->port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        return fail_module(srv, mc, err, errlen, "bad listen address %s: %s",
                           srv->set->host, uv_strerror(rc));
    uv_udp_init(srv->loop, &mod->udp);
    mod->udp.data = mod;
    mod->bound = true;
    if ((rc = uv_udp_bind(&mod->udp, (struct sockaddr *)&addr, 0)) != 0)
        return fail_module(srv, mc, err, errlen, "cannot bind %s port %u: %s",
                           srv->set->host, mc->port, uv_strerror(rc));
    uv_os_fd_t fd;
    uv_fileno((uv_handle_t *)&mod->udp, &fd);
    mod->fd = fd;
    int size = RECV_BUFFER_BYTES;
    uv_recv_buffer_size((uv_handle_t *)&mod->udp, &size);
    if ((rc = uv_udp_recv_start(&mod->udp, alloc_cb, recv_cb)) != 0)
        return fail_module(srv, mc, err, errlen, "cannot receive on port %u: %s",
                           mc->port, uv_strerror(rc));
    return 0;
}

/* ===== Shutdown ========================================================= */

static void drain_cb(uv_timer_t *t)
{
    struct srv *srv = t->data;
    if (atomic_load(&srv->inflight) == 0)
        uv_stop(srv->loop);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    struct srv *srv = h->data;
    if (srv->draining)
        return;
    srv->draining = true;
    srv_log(srv, SRV_LOG_INFO, "%s: not accepting requests; finishing %u in flight",
            strsignal(signum), atomic_load(&srv->inflight));
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].bound)
            uv_udp_recv_stop(&srv->mods[i].udp);
    uv_timer_start(&srv->drain, drain_cb, 0, 10);
}

static void close_all(struct srv *srv)
{
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].bound)
            uv_close((uv_handle_t *)&srv->mods[i].udp, NULL);
    uv_close((uv_handle_t *)&srv->sigint, NULL);
    uv_close((uv_handle_t *)&srv->sigterm, NULL);
    uv_close((uv_handle_t *)&srv->drain, NULL);
    uv_run(srv->loop, UV_RUN_DEFAULT);
}

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 1 ? (int)n - 1 : 1;
}

static int start(struct srv *srv, char *err, size_t errlen)
{
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].cfg->active && srv_load_module(srv, &srv->mods[i], err, errlen) != 0)
            return -1;
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].cfg->active && bind_module(srv, &srv->mods[i], err, errlen) != 0)
            return -1;
    struct sched_options so = {
        srv->set->workers > 0 ? srv->set->workers : default_workers(),
        srv->set->quantum_us, done_cb, srv,
    };
    return sched_new(&so, &srv->sched, err, errlen);
}

int srv_check(const struct srv_config *cfg, const struct srv_settings *set,
              char *err, size_t errlen)
{
    struct srv srv = { .cfg = cfg, .set = set, .nmods = cfg->nmodules };
    int rc = 0;
    for (int i = 0; rc == 0 && i < cfg->nmodules; i++) {
        struct srv_module mod = { .cfg = &cfg->modules[i], .srv = &srv };
        if (mod.cfg->active)
            rc = srv_load_module(&srv, &mod, err, errlen);
        if (mod.rt)
            rt_module_free(mod.rt);
    }
    return rc;
}

int srv_run(const struct srv_config *cfg, const struct srv_settings *set,
            char *err, size_t errlen)
{
    struct srv srv = { .cfg = cfg, .set = set, .nmods = cfg->nmodules };
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        snprintf(err, errlen, "cannot start the event loop");
        return -1;
    }
    srv.loop = &loop;
    srv.mods = calloc(cfg->nmodules, sizeof *srv.mods);
    for (int i = 0; srv.mods && i < cfg->nmodules; i++)
        srv.mods[i] = (struct srv_module){ .cfg = &cfg->modules[i], .srv = &srv };
    uv_signal_init(&loop, &srv.sigint);
    uv_signal_init(&loop, &srv.sigterm);
    uv_timer_init(&loop, &srv.drain);
    srv.sigint.data = srv.sigterm.data = srv.drain.data = &srv;
    int rc = srv.mods ? start(&srv, err, errlen) : -1;
    if (!srv.mods)
        snprintf(err, errlen, "out of memory");
    if (rc == 0) {
        uv_signal_start(&srv.sigint, signal_cb, SIGINT);
        uv_signal_start(&srv.sigterm, signal_cb, SIGTERM);
        int active = 0;
        for (int i = 0; i < srv.nmods; i++)
            active += srv.mods[i].cfg->active;
        srv_log(&srv, SRV_LOG_INFO, "serving %d module%s on %s with %d worker%s",
                active, active == 1 ? "" : "s", set->host,
                sched_workers(srv.sched), sched_workers(srv.sched) == 1 ? "" : "s");
        if (set->ready_cb)
            set->ready_cb(set->ready_ud);
        uv_run(&loop, UV_RUN_DEFAULT);
        srv_log(&srv, SRV_LOG_INFO, "stopped: %lu requests run, %lu rejected",
                atomic_load(&srv.served), atomic_load(&srv.rejected));
    }
    sched_free(srv.sched);
    close_all(&srv);
    uv_loop_close(&loop);
    for (int i = 0; srv.mods && i < srv.nmods; i++)
        if (srv.mods[i].rt)
            rt_module_free(srv.mods[i].rt);
    free(srv.mods);
    return rc;
}
