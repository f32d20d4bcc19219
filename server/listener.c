/*
 * server/listener.c - srv_run: start-up (load every active module, check
 * its ports are free, start the workers, each of which opens one socket
 * per module port: all or nothing), the listeners, signals and shutdown.
 *
 * Receive where it runs: every worker has a socket on every module's port
 * (a SO_REUSEPORT group; the kernel spreads datagrams over them by their
 * source address) on its own loop, so a request is parsed, checked, run
 * and answered on one thread. A datagram is queued, or answered at once
 * with an error (malformed, unknown module, too many arguments, too large,
 * overloaded: over the server's or the module's in-flight limit, or not
 * admitted by admission control). The reply goes out on the finishing
 * worker's socket of the same port.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "compiler/compiler.h"
#include "server/internal.h"

_Static_assert((uint64_t)SRV_MAX_DENSE_PAGES * WM_PAGE_SIZE == CG_BOUNDED_MAX_BYTES,
               "\"dense-memory\" allows the caps the compiler bounds");

#define RECV_BUFFER_BYTES (4 << 20)
#define SEND_RETRY_MS 50
#define ESTIMATE_EVERY 16               /* completions between estimates */
#define LOAD_THREADS_MAX 64             /* modules compiled at once */

/* Lines go to fd 2 with one write(2) each: whole lines from many threads,
 * and --log-file is dup2'ed onto it (SIGHUP reopens it). */
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
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m < sizeof line - n - 1 ? (size_t)m
                                                   : sizeof line - n - 2);
    line[len++] = '\n';
    ssize_t w = write(2, line, len);
    (void)w;                    /* nowhere to report a failing log */
}

/* Open --log-file onto fd 2. */
static int log_open(const char *path, struct srv_error *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return srv_fail(err, SRV_ERR_SYSTEM, "--log-file %s: %s", path,
                        strerror(errno));
    if (fd != 2) {
        dup2(fd, 2);
        close(fd);
    }
    return 0;
}

/* ===== Replies ========================================================== */

/* Send one datagram; if the socket buffer is full, a worker waits a
 * little after a guest ran (`tries` 2), never for an early error (1). */
static void send_reply(struct srv_module *mod, int fd, const struct sockaddr *to,
                       socklen_t tolen, const char *buf, size_t len, int tries)
{
    for (int i = 0; i < tries; i++) {
        if (sendto(fd, buf, len, MSG_DONTWAIT, to, tolen) >= 0)
            return;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        if (i + 1 < tries) {
            struct pollfd p = { fd, POLLOUT, 0 };
            poll(&p, 1, SEND_RETRY_MS);
        }
    }
    srv_log(mod->srv, SRV_LOG_WARN, "module \"%s\": reply lost: %s",
            mod->cfg->name, strerror(errno));
}

static socklen_t addr_len(const struct sockaddr *a)
{
    return a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                    : sizeof(struct sockaddr_in);
}

static void reply_error(struct srv_listener *l, const struct sockaddr *to,
                        const char *msg)
{
    char out[2048];
    size_t n = srv_error_reply(msg, out, sizeof out);
    atomic_fetch_add(&l->mod->srv->rejected, 1);
    atomic_fetch_add_explicit(&l->mod->metrics.udp_error, 1, memory_order_relaxed);
    if (l->mod->srv->set->access_log)
        srv_log(l->mod->srv, SRV_LOG_INFO, "access: udp module %s error before "
                "running: %s", l->mod->cfg->name, msg);
    srv_log(l->mod->srv, SRV_LOG_DEBUG, "module \"%s\": %s", l->mod->cfg->name, msg);
    if (n > 0)
        send_reply(l->mod, l->fd, to, addr_len(to), out, n, 1);
}

/* ===== Admission control ================================================ */

/* The k-th smallest of a[0..n) (quickselect, Hoare's partition;
 * reorders a). */
static uint64_t select_kth(uint64_t *a, uint32_t n, uint32_t k)
{
    int64_t lo = 0, hi = (int64_t)n - 1, kk = k;
    while (lo < hi) {
        uint64_t pivot = a[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                uint64_t t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            break;              /* j < k < i: a[k] is the pivot */
    }
    return a[k];
}

static uint32_t module_percentile(const struct srv_module *mod)
{
    return mod->cfg->admissions_percentile ? mod->cfg->admissions_percentile
                                           : mod->srv->set->admissions_percentile;
}

/* A finished request's CPU time joins its module's window; the estimate
 * (the percentile) is refreshed every ESTIMATE_EVERY completions, or at
 * each of the first ones. */
static void window_add(struct srv_module *mod, uint64_t ns)
{
    struct srv_window *win = &mod->window;
    uint64_t copy[SRV_WINDOW];
    pthread_mutex_lock(&win->lock);
    win->ns[win->next] = ns;
    win->next = (win->next + 1) % SRV_WINDOW;
    if (win->n < SRV_WINDOW)
        win->n++;
    if (++win->since >= ESTIMATE_EVERY || win->n <= ESTIMATE_EVERY) {
        win->since = 0;
        uint32_t n = win->n;
        memcpy(copy, win->ns, n * sizeof *copy);
        atomic_store(&win->estimate_ns,
                     select_kth(copy, n, (n - 1) * module_percentile(mod) / 100));
    }
    pthread_mutex_unlock(&win->lock);
}

/* Admit only if the module's estimated work over its relative deadline
 * (a share of one worker, in millionths) fits what the workers have not
 * promised yet; the share is returned when the request is done. */
static int admission(struct srv_module *mod, struct sb *sb, char *err, size_t errlen)
{
    struct srv *srv = mod->srv;
    uint64_t est = atomic_load(&mod->window.estimate_ns);
    uint64_t demand = est * 1000000u / mod->rel_deadline_ns;
    if (demand == 0 && est > 0)
        demand = 1;
    uint64_t cur = atomic_load(&srv->admitted);
    do {
        if (cur + demand > srv->capacity) {
            snprintf(err, errlen, "overloaded: not admitted: module \"%s\" needs "
                     "about %.3f ms (p%u) within %.3f ms, and the %d worker%s "
                     "%.0f%% committed; try again", mod->cfg->name, est / 1e6,
                     module_percentile(mod), mod->rel_deadline_ns / 1e6,
                     srv->nworkers, srv->nworkers == 1 ? " is" : "s are",
                     cur * 100.0 / srv->capacity);
            return -1;
        }
    } while (!atomic_compare_exchange_weak(&srv->admitted, &cur, cur + demand));
    sb->admitted = demand;
    srv_log(srv, SRV_LOG_DEBUG, "module \"%s\": admitted: estimate %.3f ms (p%u of "
            "%u), deadline %.3f ms, demand %.4f, committed %.4f of %d",
            mod->cfg->name, est / 1e6, module_percentile(mod), mod->window.n,
            mod->rel_deadline_ns / 1e6, demand / 1e6, (cur + demand) / 1e6,
            srv->nworkers);
    return 0;
}

void srv_addr_name(const struct sockaddr *a, char *buf, size_t len)
{
    char ip[48] = "?";
    int port = 0;
    if (a->sa_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)a, ip, sizeof ip);
        port = ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    } else {
        uv_ip4_name((const struct sockaddr_in *)a, ip, sizeof ip);
        port = ntohs(((const struct sockaddr_in *)a)->sin_port);
    }
    snprintf(buf, len, "%s:%d", ip, port);
}

/* One line per UDP reply (--access-log). */
static void access_udp(const struct sb *sb, size_t len)
{
    char peer[64];
    srv_addr_name((const struct sockaddr *)&sb->peer, peer, sizeof peer);
    srv_log(sb->mod->srv, SRV_LOG_INFO, "access: udp %s module %s %s %zu bytes "
            "queue %llu us run %llu us sandbox %llu", peer, sb->mod->cfg->name,
            sb->outcome == SB_OK ? "ok" : "error", len,
            (unsigned long long)(sb_queued_ns(sb) / 1000),
            (unsigned long long)(sb_elapsed_ns(sb) / 1000), (unsigned long long)sb->id);
}

/* On a worker: answer a finished sandbox and free it. */
static void done_cb(struct sb *sb, int worker, void *ud)
{
    struct srv *srv = ud;
    struct srv_module *mod = sb->mod;
    bool http = sb->http != NULL;
    char *out = srv->replies[worker];
    size_t n = http ? 0 : sb_reply_build(sb, out, SRV_MAX_DATAGRAM);
    srv_count_done(sb);
    if (http)
        http_respond(sb);
    else if (n > 0)
        send_reply(mod, mod->ls[worker].fd, (struct sockaddr *)&sb->peer,
                   sb->peer_len, out, n, 2);
    else
        srv_log(srv, SRV_LOG_ERROR, "module \"%s\": no reply: it would not fit "
                "a datagram", mod->cfg->name);
    if (!http) {
        atomic_fetch_add_explicit(sb->outcome == SB_OK ? &mod->metrics.udp_ok
                                  : &mod->metrics.udp_error, 1, memory_order_relaxed);
        if (srv->set->access_log)
            access_udp(sb, n);
    }
    if (sb->outcome != SB_OK)
        srv_log(srv, SRV_LOG_DEBUG, "module \"%s\": %s", mod->cfg->name, sb->error);
    if (sb->t_start && srv->set->admission)
        window_add(mod, sb->run_ns);
    if (sb->t_end > sb->t_arrive + mod->rel_deadline_ns)
        atomic_fetch_add(&srv->missed, 1);
    if (sb->timed_out)
        atomic_fetch_add(&srv->timeouts, 1);
    atomic_fetch_sub(&srv->admitted, sb->admitted);
    sb_free(sb);
    atomic_fetch_add(&srv->served, 1);
    atomic_fetch_sub(&mod->inflight, 1);
    atomic_fetch_sub(&srv->inflight, 1);
}

/* ===== Receiving ======================================================== */

/* Take one in-flight slot of `n` (at most `max`), or fail. */
static bool take_slot(atomic_uint *n, uint32_t max)
{
    if (atomic_fetch_add(n, 1) < max)
        return true;
    atomic_fetch_sub(n, 1);
    return false;
}

enum srv_refusal srv_admit(struct srv_module *mod, struct sb *sb, char *err,
                           size_t errlen)
{
    struct srv *srv = mod->srv;
    if (!take_slot(&srv->inflight, srv->set->max_queued)) {
        snprintf(err, errlen, "overloaded: %u requests in flight, try again",
                 srv->set->max_queued);
        return SRV_OVERLOADED;
    }
    if (!take_slot(&mod->inflight, mod->max_inflight)) {
        snprintf(err, errlen, "overloaded: module \"%s\" has %u requests in "
                 "flight (its limit), try again", mod->cfg->name, mod->max_inflight);
        atomic_fetch_sub(&srv->inflight, 1);
        return SRV_OVERLOADED;
    }
    if (srv->set->admission && admission(mod, sb, err, errlen) != 0) {
        atomic_fetch_sub(&mod->inflight, 1);
        atomic_fetch_sub(&srv->inflight, 1);
        atomic_fetch_add_explicit(&mod->metrics.not_admitted, 1, memory_order_relaxed);
        return SRV_NOT_ADMITTED;
    }
    sb->id = atomic_fetch_add(&srv->next_id, 1) + 1;
    sb->t_arrive = srv_now_ns();
    sb->deadline = sb->t_arrive + (uint64_t)mod->cfg->timeout_ms * 1000000ull;
    sb->sched_deadline = sb->t_arrive + mod->rel_deadline_ns;
    sched_submit(srv->sched, sb);
    return SRV_ACCEPTED;
}

static void admit(struct srv_listener *l, const char *buf, size_t len,
                  const struct sockaddr *from)
{
    struct srv_module *mod = l->mod;
    struct srv *srv = mod->srv;
    char err[512];
    if (len > srv->set->max_request) {
        snprintf(err, sizeof err, "request too large: %zu bytes > %u",
                 len, srv->set->max_request);
        reply_error(l, from, err);
        return;
    }
    struct sb *sb = mod->rt ? sb_request_parse(srv, buf, len, mod, err, sizeof err)
                            : NULL;
    if (!mod->rt)
        snprintf(err, sizeof err, "module \"%s\" is not available: it failed "
                 "to load (the server's log says why)", mod->cfg->name);
    if (!sb) {
        reply_error(l, from, err);
        return;
    }
    sb->peer_len = addr_len(from);
    memcpy(&sb->peer, from, sb->peer_len);
    if (srv_admit(mod, sb, err, sizeof err) != SRV_ACCEPTED) {
        sb_free(sb);
        reply_error(l, from, err);
    }
}

/* One datagram, `len` bytes of it in buf (`cut`: it was longer). */
static void received(struct srv_listener *l, const char *buf, size_t len,
                     bool cut, const struct sockaddr *from)
{
    if (atomic_load(&l->mod->srv->stopped_accepting))
        return;
    if (cut) {
        char err[128];
        snprintf(err, sizeof err, "request too large: over %zu bytes > %u",
                 len, l->mod->srv->set->max_request);
        reply_error(l, from, err);
        return;
    }
    admit(l, buf, len, from);
}

/* The socket is readable: take up to SRV_UDP_BATCH datagrams with one
 * system call (libuv's UDP handle reads until the socket is empty, a
 * failing recvmsg per wake-up). */
static void readable_cb(uv_poll_t *h, int status, int events)
{
    struct srv_listener *l = h->data;
    struct srv *srv = l->mod->srv;
    struct mmsghdr msgs[SRV_UDP_BATCH];
    struct iovec iov[SRV_UDP_BATCH];
    struct sockaddr_storage from[SRV_UDP_BATCH];
    (void)events;
    for (int i = 0; i < SRV_UDP_BATCH; i++) {
        iov[i] = (struct iovec){ srv->bufs[l->worker][i], sizeof srv->bufs[0][0] };
        msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
            .msg_namelen = sizeof from[i], .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    int n = status < 0 ? -1 : recvmmsg(l->fd, msgs, SRV_UDP_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
        if (status < 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            srv_log(srv, SRV_LOG_WARN, "module \"%s\": receive: %s", l->mod->cfg->name,
                    status < 0 ? uv_strerror(status) : strerror(errno));
        return;
    }
    for (int i = 0; i < n; i++)
        received(l, iov[i].iov_base, msgs[i].msg_len,
                 (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0,
                 (const struct sockaddr *)&from[i]);
}

/* ===== Start-up ========================================================= */

/* An error about module mc (NULL: the server's own, e.g. the admin port). */
__attribute__((format(printf, 5, 6)))
static int fail_module(const struct srv *srv, const struct srv_module_config *mc,
                       struct srv_error *err, enum srv_error_kind kind,
                       const char *fmt, ...)
{
    size_t len = sizeof err->msg;
    err->kind = kind;
    int n = mc ? snprintf(err->msg, len, "%s:%d: module \"%s\": ", srv->cfg->file,
                          mc->line, mc->name) : 0;
    if (n < 0 || (size_t)n >= len)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, len - n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A large module compiles in parts (cg_options.progress): log each. */
struct load_progress {
    struct srv *srv;
    const struct srv_module_config *mc;
};

static void log_progress(void *arg, unsigned done, unsigned total)
{
    const struct load_progress *lp = arg;
    if (total > 1)
        srv_log(lp->srv, SRV_LOG_INFO, "module \"%s\": compiling %s: %u of %u parts done",
                lp->mc->name, lp->mc->path, done, total);
}

int srv_load_module(struct srv *srv, struct srv_module *mod,
                    enum cache_result *how, struct srv_error *err)
{
    const struct srv_module_config *mc = mod->cfg;
    struct cache_options co = CACHE_OPTIONS_DEFAULT;
    struct cache_error cerr;
    co.opt_level = srv->set->opt_level;
    co.bounds = srv->set->checked_bounds ? AWSM_BOUNDS_CHECKED : AWSM_BOUNDS_GUARD;
    co.disabled = srv->set->no_cache;
    /* "dense-memory": the cap is compiled in, the code checks its accesses
     * (checked mode's speed) and its memory is a slot of a shared slab
     * instead of an 8 GiB reservation (2 mappings). */
    co.max_memory_pages = mc->dense_memory ? mc->max_memory_pages : 0;
    co.features = mc->features;
    struct load_progress lp = { srv, mc };
    co.progress = log_progress;
    co.progress_arg = &lp;
    /* The cache's message names the file already. */
    if (cache_module_load(mc->path, &co, &mod->rt, how, &cerr) != 0)
        return fail_module(srv, mc, err, cerr.kind == CACHE_ERR_NOMEM
                           ? SRV_ERR_NOMEM : SRV_ERR_MODULE, "%s", cerr.msg);
    if (!rt_module_interruptible(mod->rt))
        return fail_module(srv, mc, err, SRV_ERR_MODULE, "%s was compiled "
                           "without interrupt polls (awsmc --no-polls): awsmrt "
                           "could not preempt it or stop it at its deadline; "
                           "compile it without --no-polls", mc->path);
    const struct wm_module *wm = rt_module_wasm(mod->rt);
    bool has_start = false;
    for (uint32_t i = 0; i < wm->nexports; i++) {
        const struct wm_export *e = &wm->exports[i];
        has_start |= e->kind == WM_EXTERN_FUNC && e->name.len == 6 &&
                     memcmp(e->name.str, "_start", 6) == 0;
    }
    if (!has_start)
        return fail_module(srv, mc, err, SRV_ERR_MODULE, "%s exports no _start "
                           "function (awsmrt runs WASI commands)", mc->path);
    struct wasi_error werr;
    if (wasi_check_imports(wm, &werr) != 0)
        return fail_module(srv, mc, err, werr.kind == WASI_ERR_NOMEM
                           ? SRV_ERR_NOMEM : SRV_ERR_MODULE, "%s: %s", mc->path,
                           werr.msg);
    return 0;
}

/* The modules srv_load_modules' threads share: the next to take. */
struct loading {
    struct srv *srv;
    atomic_int next;
    struct srv_error *errs;
};

static void *load_cb(void *arg)
{
    struct loading *l = arg;
    struct srv *srv = l->srv;
    for (int i; (i = atomic_fetch_add(&l->next, 1)) < srv->nmods;) {
        struct srv_module *mod = &srv->mods[i];
        enum cache_result how = CACHE_HIT;
        if (!mod->cfg->active)
            continue;
        uint64_t t0 = srv_now_ns();
        if (srv_load_module(srv, mod, &how, &l->errs[i]) == 0 && how == CACHE_COMPILED)
            srv_log(srv, SRV_LOG_INFO, "module \"%s\": compiled %s in %.2f s",
                    mod->cfg->name, mod->cfg->path, (srv_now_ns() - t0) / 1e9);
    }
    return NULL;
}

void srv_load_modules(struct srv *srv, int threads, struct srv_error *errs)
{
    struct loading l = { .srv = srv, .errs = errs };
    pthread_t t[LOAD_THREADS_MAX];
    int active = 0, n = 0;
    atomic_init(&l.next, 0);
    for (int i = 0; i < srv->nmods; i++)
        active += srv->mods[i].cfg->active;
    threads = threads < active ? threads : active;
    threads = threads < LOAD_THREADS_MAX ? threads : LOAD_THREADS_MAX;
    /* This thread is one of them; if a thread cannot start, fewer do it. */
    while (n < threads - 1 && pthread_create(&t[n], NULL, load_cb, &l) == 0)
        n++;
    load_cb(&l);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

int srv_port_bind(const struct srv *srv, const struct srv_module_config *mc,
                  int type, uint16_t port, bool group, struct srv_error *err)
{
    struct sockaddr_storage addr = { 0 };
    const char *proto = type == SOCK_DGRAM ? "UDP" : mc ? "HTTP" : "admin";
    int rc = strchr(srv->set->host, ':')
        ? uv_ip6_addr(srv->set->host, port, (struct sockaddr_in6 *)&addr)
        : uv_ip4_addr(srv->set->host, port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        return fail_module(srv, mc, err, SRV_ERR_USAGE, "bad listen address "
                           "%s: %s", srv->set->host, uv_strerror(rc));
    int fd = socket(addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 ||
        (type == SOCK_STREAM &&
         setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) ||
        (group && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, (const struct sockaddr *)&addr, addr_len((const struct sockaddr *)&addr)) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail_module(srv, mc, err, SRV_ERR_SYSTEM, "cannot bind %s %s "
                           "port %u: %s", srv->set->host, proto, port, strerror(e));
    }
    return fd;
}

/* Before the workers bind their group: is the port free? A socket of
 * the group binds even when another process's group (same user) holds
 * the port, and the two would share its traffic; a plain bind fails. */
static int check_port(struct srv *srv, struct srv_module *mod,
                      struct srv_error *err)
{
    int fd = srv_port_bind(srv, mod->cfg, SOCK_DGRAM, mod->cfg->port, false, err);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* sched open_cb, on worker `worker`'s thread: one socket per module. */
static int open_listeners(int worker, uv_loop_t *loop, void *ud,
                          struct srv_error *err)
{
    struct srv *srv = ud;
    for (int i = 0; i < srv->nmods; i++) {
        struct srv_module *mod = &srv->mods[i];
        if (!mod->cfg->active || !mod->cfg->port)
            continue;
        struct srv_listener *l = &mod->ls[worker];
        int rc, fd = srv_port_bind(srv, mod->cfg, SOCK_DGRAM, mod->cfg->port,
                                   true, err);
        if (fd < 0)
            return -1;
        int size = RECV_BUFFER_BYTES;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        l->mod = mod;
        l->worker = worker;
        l->fd = fd;
        if ((rc = uv_poll_init_socket(loop, &l->poll, fd)) != 0)
            close(fd);
        l->open = rc == 0;
        l->poll.data = l;
        if (rc != 0 || (rc = uv_poll_start(&l->poll, UV_READABLE, readable_cb)) != 0)
            return fail_module(srv, mod->cfg, err, SRV_ERR_SYSTEM, "cannot "
                               "receive on port %u: %s", mod->cfg->port,
                               uv_strerror(rc));
    }
    return http_open(srv, worker, loop, err);
}

/* sched stop_cb: stop receiving; the sockets stay for replies. */
static void stop_listeners(int worker, void *ud)
{
    struct srv *srv = ud;
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].ls && srv->mods[i].ls[worker].open)
            uv_poll_stop(&srv->mods[i].ls[worker].poll);
    http_stop(srv, worker);
}

/* sched close_cb: at the worker's end. */
static void close_listeners(int worker, void *ud)
{
    struct srv *srv = ud;
    for (int i = 0; i < srv->nmods; i++) {
        struct srv_listener *l = srv->mods[i].ls ? &srv->mods[i].ls[worker] : NULL;
        if (l && l->open) {
            uv_close((uv_handle_t *)&l->poll, NULL);    /* out of epoll first */
            close(l->fd);
        }
    }
    http_close(srv, worker);
}

/* ===== Signals and shutdown ============================================= */

static void log_stats(struct srv *srv, const char *what)
{
    struct sched_stats st = { 0, 0, 0, 0 };
    if (srv->sched)
        sched_stats(srv->sched, &st);
    srv_log(srv, SRV_LOG_INFO, "%s: %u in flight, %lu requests run, %lu rejected, "
            "%lu past their relative deadline, %lu timed out; %llu steals, "
            "%llu preemptions; guests hold %u files and %llu MiB of memory",
            what, atomic_load(&srv->inflight),
            atomic_load(&srv->served), atomic_load(&srv->rejected),
            atomic_load(&srv->missed), atomic_load(&srv->timeouts),
            (unsigned long long)st.steals, (unsigned long long)st.preemptions,
            wasi_process_fds(), (unsigned long long)(rt_memory_committed() >> 20));
}

/* End the drain: what is still in flight is stopped and answered
 * "shutting down". */
static void cancel_all(struct srv *srv, const char *why)
{
    if (srv->cancelling)
        return;
    srv->cancelling = true;
    srv_log(srv, SRV_LOG_INFO, "%s: stopping the %u requests in flight", why,
            atomic_load(&srv->inflight));
    sched_cancel_all(srv->sched);
}

/* Stop receiving: the listeners close (idle keep-alive connections too). */
static void stop_accepting(struct srv *srv)
{
    atomic_store(&srv->stopped_accepting, true);
    srv_log(srv, SRV_LOG_INFO, "not accepting requests; finishing %u in flight "
            "(signal again to stop them)", atomic_load(&srv->inflight));
    sched_stop_accepting(srv->sched);
}

static void drain_cb(uv_timer_t *t)
{
    struct srv *srv = t->data;
    if (!atomic_load(&srv->stopped_accepting)) {
        if (srv_now_ns() - srv->drain_start >= srv->set->drain_delay_ms * 1000000ull)
            stop_accepting(srv);
        return;
    }
    if (atomic_load(&srv->inflight) == 0 && http_writing(srv) == 0) {
        uv_stop(srv->loop);
        return;
    }
    uint64_t limit = (uint64_t)srv->set->drain_timeout_ms * 1000000u;
    limit += limit ? srv->set->drain_delay_ms * 1000000ull : 0;
    if (limit && srv_now_ns() - srv->drain_start >= limit)
        cancel_all(srv, "drain timeout");
}

static void signal_cb(uv_signal_t *h, int signum)
{
    struct srv *srv = h->data;
    if (signum == SIGHUP) {
        struct srv_error err;
        if (!srv->set->log_file)
            srv_log(srv, SRV_LOG_INFO, "SIGHUP: no --log-file to reopen");
        else if (log_open(srv->set->log_file, &err) != 0)
            srv_log(srv, SRV_LOG_ERROR, "SIGHUP: %s (logging goes on to the old file)",
                    err.msg);
        else
            srv_log(srv, SRV_LOG_INFO, "SIGHUP: reopened %s", srv->set->log_file);
        return;
    }
    if (signum == SIGUSR1) {
        log_stats(srv, "SIGUSR1");
        return;
    }
    if (atomic_load(&srv->draining)) {
        if (!atomic_load(&srv->stopped_accepting))
            stop_accepting(srv);        /* cuts a --drain-delay-ms short */
        cancel_all(srv, strsignal(signum));
        return;
    }
    atomic_store(&srv->draining, true);
    srv->drain_start = srv_now_ns();
    if (srv->set->drain_delay_ms)
        srv_log(srv, SRV_LOG_INFO, "%s: not ready; still accepting requests for "
                "%u ms (--drain-delay-ms)", strsignal(signum), srv->set->drain_delay_ms);
    else
        srv_log(srv, SRV_LOG_INFO, "%s: draining", strsignal(signum));
    if (!srv->set->drain_delay_ms)
        stop_accepting(srv);
    uv_timer_start(&srv->drain, drain_cb, 0, 10);
}

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Raise the soft limit on open files to the hard one; the guests of all
 * sandboxes together may then hold three quarters of it, so the server's
 * own fds (sockets, the log, loading modules) never run out, and those
 * of one module half of that. */
static void limit_files(struct srv *srv)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = rl.rlim_max = 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            srv_log(srv, SRV_LOG_WARN, "cannot raise the open-file limit from %llu: %s",
                    (unsigned long long)old, strerror(errno));
            rl.rlim_cur = old;
        }
    }
    uint64_t n = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : rl.rlim_cur;
    srv->fd_limit = (unsigned)(n > (1u << 20) ? 1u << 20 : n) / 4 * 3;
    if (srv->fd_limit < 16)
        srv->fd_limit = 16;
    wasi_set_process_fd_limit(srv->fd_limit);
    /* One module's sandboxes together may hold half of it: a tenant that
     * hoards files runs out of its own share. */
    for (int i = 0; i < srv->nmods; i++)
        wasi_fd_group_init(&srv->mods[i].files, srv->fd_limit / 2);
}

/* Mappings per live sandbox: two for a stack with a guard page below it
 * (--stack-guard; stacks without one merge into their neighbours' mapping),
 * two for a memory in a reservation of its own (slab slots share their
 * slab's: "dense-memory"). Warn when the kernel's limit on mappings is
 * below what --max-queued allows, since past it new sandboxes fail. */
static void check_map_count(struct srv *srv)
{
    unsigned long per = srv->set->stack_guard ? 2 : 0;
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].cfg->active && !srv->mods[i].cfg->dense_memory) {
            per += 2;
            break;
        }
    FILE *f = per ? fopen("/proc/sys/vm/max_map_count", "r") : NULL;
    unsigned long limit = 0;
    if (!f)
        return;
    if (fscanf(f, "%lu", &limit) != 1)
        limit = 0;
    fclose(f);
    unsigned long need = per * srv->set->max_queued + 1000;
    if (limit > 1000 && limit < need)
        srv_log(srv, SRV_LOG_WARN, "vm.max_map_count is %lu: about %lu sandboxes "
                "can be alive at once (%lu mappings each), fewer than --max-queued "
                "%u; past that they fail with \"out of memory\" (raise it: "
                "sysctl vm.max_map_count=%lu)", limit, (limit - 1000) / per, per,
                srv->set->max_queued, need);
}

/* The budget for all linear memories: --memory-budget-mb, else three
 * quarters of the machine's memory. */
static void limit_memory(struct srv *srv)
{
    uint64_t b = srv->set->memory_budget;
    if (b == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        b = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size / 4 * 3 : 0;
    }
    srv->memory_budget = b;
    rt_memory_budget_set(b);
}

static int start(struct srv *srv, struct srv_error *err)
{
    srv->nworkers = srv->set->workers > 0 ? srv->set->workers : default_workers();
    srv->capacity = (uint64_t)srv->nworkers * 1000000u;
    if (!(srv->bufs = malloc((size_t)srv->nworkers * sizeof *srv->bufs)) ||
        !(srv->replies = malloc((size_t)srv->nworkers * sizeof *srv->replies)))
        return srv_fail(err, SRV_ERR_NOMEM, "out of memory");
    /* A module that does not load is an error in the log, and its
     * requests are answered "not available"; the others are served.
     * Only when none loads does start-up fail (--check fails on any). */
    int loaded = 0, active = 0;
    struct srv_error *errs = calloc(srv->nmods ? srv->nmods : 1, sizeof *errs);
    if (!errs)
        return srv_fail(err, SRV_ERR_NOMEM, "out of memory");
    srv_load_modules(srv, srv->nworkers, errs);
    for (int i = 0; i < srv->nmods; i++) {
        struct srv_module *mod = &srv->mods[i];
        if (!mod->cfg->active)
            continue;
        active++;
        if (errs[i].kind == SRV_ERR_NONE) {
            loaded++;
        } else {
            if (mod->rt)                /* loaded, but not a WASI command */
                rt_module_free(mod->rt);
            mod->rt = NULL;
            *err = errs[i];
            srv_log(srv, SRV_LOG_ERROR, "%s (its requests will be answered \"not "
                    "available\")", err->msg);
        }
        if (!(mod->ls = calloc(srv->nworkers, sizeof *mod->ls))) {
            free(errs);
            return srv_fail(err, SRV_ERR_NOMEM, "out of memory");
        }
    }
    free(errs);
    if (active > 0 && loaded == 0)
        return -1;                      /* err: the last module's */
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].cfg->active && srv->mods[i].cfg->port &&
            check_port(srv, &srv->mods[i], err) != 0)
            return -1;
    if (http_init(srv, err) != 0)
        return -1;
    struct sched_options so = {
        .workers = srv->nworkers,
        .quantum_us = srv->set->quantum_us,
        .policy = srv->set->policy,
        .stack_guard = srv->set->stack_guard,
        .done_cb = done_cb,
        .open_cb = open_listeners,
        .stop_cb = stop_listeners,
        .close_cb = close_listeners,
        .ud = srv,
    };
    return sched_new(&so, &srv->sched, err);
}

static void srv_init(struct srv *srv, const struct srv_config *cfg,
                     const struct srv_settings *set)
{
    *srv = (struct srv){ .cfg = cfg, .set = set, .nmods = cfg->nmodules };
    srv->mods = calloc(cfg->nmodules, sizeof *srv->mods);
    if (!srv->mods)
        srv->nmods = 0;                 /* srv_run says "out of memory" */
    for (int i = 0; i < srv->nmods; i++) {
        struct srv_module *mod = &srv->mods[i];
        const struct srv_module_config *mc = &cfg->modules[i];
        *mod = (struct srv_module){ .cfg = mc, .srv = srv };
        mod->max_inflight = mc->max_inflight ? mc->max_inflight : set->max_inflight;
        mod->rel_deadline_ns = mc->relative_deadline_us
            ? mc->relative_deadline_us * 1000u : (uint64_t)mc->timeout_ms * 1000000u;
        pthread_mutex_init(&mod->window.lock, NULL);
        /* SLEdge's "expected-execution-us": admission's estimate until
         * the first request is measured. */
        atomic_store(&mod->window.estimate_ns, mc->expected_execution_us * 1000u);
    }
}

static void srv_deinit(struct srv *srv)
{
    for (int i = 0; srv->mods && i < srv->nmods; i++) {
        if (srv->mods[i].rt)
            rt_module_free(srv->mods[i].rt);
        free(srv->mods[i].ls);
        pthread_mutex_destroy(&srv->mods[i].window.lock);
    }
    free(srv->mods);
    free(srv->bufs);
    free(srv->replies);
    http_free(srv);
}

int srv_check(const struct srv_config *cfg, const struct srv_settings *set,
              struct srv_error *err)
{
    struct srv srv;
    srv_init(&srv, cfg, set);
    int rc = 0;
    struct srv_error *errs = calloc(srv.nmods ? srv.nmods : 1, sizeof *errs);
    if (!srv.mods || !errs)
        rc = srv_fail(err, SRV_ERR_NOMEM, "out of memory");
    else
        srv_load_modules(&srv, default_workers(), errs);
    for (int i = 0; rc == 0 && i < srv.nmods; i++)   /* the first in the file */
        if (errs[i].kind != SRV_ERR_NONE) {
            *err = errs[i];
            rc = -1;
        }
    free(errs);
    srv_deinit(&srv);
    return rc;
}

int srv_run(const struct srv_config *cfg, const struct srv_settings *set,
            struct srv_error *err)
{
    struct srv srv;
    uv_loop_t loop;
    /* A closed log pipe or a client gone must not kill the server. */
    signal(SIGPIPE, SIG_IGN);
    if (set->log_file && log_open(set->log_file, err) != 0)
        return -1;
    int lrc = uv_loop_init(&loop);
    if (lrc != 0)
        return srv_fail(err, SRV_ERR_SYSTEM, "cannot start the event loop: %s",
                        uv_strerror(lrc));
    srv_init(&srv, cfg, set);
    srv.loop = &loop;
    limit_files(&srv);
    limit_memory(&srv);
    check_map_count(&srv);
    uv_signal_t *sigs[] = { &srv.sigint, &srv.sigterm, &srv.sighup, &srv.sigusr1 };
    static const int signums[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
    for (int i = 0; i < 4; i++) {
        uv_signal_init(&loop, sigs[i]);
        sigs[i]->data = &srv;
    }
    uv_timer_init(&loop, &srv.drain);
    srv.drain.data = &srv;
    int rc = srv.mods ? start(&srv, err)
                      : srv_fail(err, SRV_ERR_NOMEM, "out of memory");
    if (rc == 0)
        rc = http_open_admin(&srv, &loop, err);
    if (rc == 0) {
        srv.ready = true;
        for (int i = 0; i < 4; i++)
            uv_signal_start(sigs[i], signal_cb, signums[i]);
        int active = 0, broken = 0;
        for (int i = 0; i < srv.nmods; i++) {
            active += srv.mods[i].cfg->active && srv.mods[i].rt;
            broken += srv.mods[i].cfg->active && !srv.mods[i].rt;
        }
        if (broken)
            srv_log(&srv, SRV_LOG_ERROR, "%d module%s failed to load", broken,
                    broken == 1 ? "" : "s");
        srv_log(&srv, SRV_LOG_INFO, "serving %d module%s on %s with %d worker%s "
                "(%s scheduler, quantum %u us%s; sandboxes may hold %u files, "
                "%u per module, and %llu MiB of memory in all)", active,
                active == 1 ? "" : "s",
                set->host, srv.nworkers, srv.nworkers == 1 ? "" : "s",
                sched_policy_name(set->policy),
                set->quantum_us, set->admission ? ", admission control" : "",
                srv.fd_limit, srv.fd_limit / 2,
                (unsigned long long)(srv.memory_budget >> 20));
        if (set->ready_cb)
            set->ready_cb(set->ready_ud);
        uv_run(&loop, UV_RUN_DEFAULT);
        log_stats(&srv, "stopped");
    }
    sched_free(srv.sched);
    srv.sched = NULL;                   /* the admin page reads it */
    http_close_admin(&srv);
    for (int i = 0; i < 4; i++)
        uv_close((uv_handle_t *)sigs[i], NULL);
    uv_close((uv_handle_t *)&srv.drain, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    srv_deinit(&srv);
    return rc;
}
