/*
 * server/admin.c - what the admin port (--admin-port) serves, and the
 * counters behind it:
 *
 *   /metrics  Prometheus's text format (0.0.4): per module (route)
 *             responses by status code, UDP replies, sandboxes by how they
 *             ended, admission rejections, queue-wait and run-time
 *             histograms; for the server, requests in flight, queued and
 *             parked, HTTP connections, workers' busy time, preemptions
 *             and steals, linear memory committed, its budget and the
 *             pool of kept reservations, guests' open files;
 *   /healthz  200 while the process serves (liveness);
 *   /readyz   200 once every module is loaded and the listeners are open,
 *             503 from the moment a SIGTERM starts the drain.
 *
 * Counters are relaxed atomics bumped where requests end (listener.c,
 * http.c); the page is built on the main thread, so scraping never
 * touches a worker.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

static const int http_codes[SRV_NCODES] = { SRV_HTTP_CODES };
static const char *const end_names[SRV_NEND] = {
    "ok", "exit", "trap", "timeout", "cancelled", "error",
};
/* Upper bounds of the histograms' buckets, in microseconds. */
static const uint64_t bucket_us[SRV_HIST_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000, 2500000, 5000000, 10000000,
};

/* ===== Counting ========================================================= */

void srv_count_http(struct srv *srv, struct srv_module *mod, int status)
{
    struct srv_metrics *m = mod ? &mod->metrics : &srv->unrouted;
    for (int i = 0; i < SRV_NCODES; i++)
        if (http_codes[i] == status)
            atomic_fetch_add_explicit(&m->http[i], 1, memory_order_relaxed);
}

static void hist_add(struct srv_hist *h, uint64_t ns)
{
    int i = 0;
    while (i < SRV_HIST_BUCKETS && ns > bucket_us[i] * 1000u)
        i++;
    atomic_fetch_add_explicit(&h->n[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

static enum srv_end end_of(const struct sb *sb)
{
    if (sb->outcome == SB_OK)
        return sb->exit_code == 0 ? SRV_END_OK : SRV_END_EXIT;
    if (sb->timed_out)
        return SRV_END_TIMEOUT;
    if (sb->cancelled)
        return SRV_END_CANCELLED;
    return strncmp(sb->error, "trap: ", 6) == 0 ? SRV_END_TRAP : SRV_END_ERROR;
}

void srv_count_done(const struct sb *sb)
{
    struct srv_metrics *m = &sb->mod->metrics;
    atomic_fetch_add_explicit(&m->ends[end_of(sb)], 1, memory_order_relaxed);
    hist_add(&m->queue, sb_queued_ns(sb));
    if (sb->t_start)
        hist_add(&m->run, sb_elapsed_ns(sb));
}

/* ===== The page ========================================================= */

struct page {
    char *s;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3)))
static void put(struct page *p, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = p->failed ? 0 : vsnprintf(p->s + p->len, p->cap - p->len, fmt, ap);
        va_end(ap);
        if (p->failed || n < 0) {
            p->failed = true;
            return;
        }
        if ((size_t)n < p->cap - p->len) {
            p->len += (size_t)n;
            return;
        }
        size_t cap = p->cap * 2 + (size_t)n;
        char *s = realloc(p->s, cap);
        if (!s) {
            p->failed = true;
            return;
        }
        p->s = s;
        p->cap = cap;
    }
}

static void family(struct page *p, const char *name, const char *type,
                   const char *help)
{
    put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, quote and newline escaped. */
static void put_label(struct page *p, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            put(p, "\\%c", *v);
        else if (*v == '\n')
            put(p, "\\n");
        else
            put(p, "%c", *v);
    }
}

/* `{module="NAME",route="/R"` (left open for more labels). */
static void labels(struct page *p, const struct srv_module *mod)
{
    put(p, "{module=\"");
    put_label(p, mod ? mod->cfg->name : "");
    put(p, "\",route=\"");
    put_label(p, mod && mod->cfg->http_port ? mod->cfg->route : "");
    put(p, "\"");
}

/* One sample of a per-module family: NAME{module,route[,EXTRA]} V. */
static void sample(struct page *p, const char *name, const struct srv_module *mod,
                   const char *extra, unsigned long v)
{
    put(p, "%s", name);
    labels(p, mod);
    put(p, "%s%s} %lu\n", extra ? "," : "", extra ? extra : "", v);
}

static unsigned long not_admitted(const struct srv_module *mod)
{
    return atomic_load(&mod->metrics.not_admitted);
}

static unsigned long loaded(const struct srv_module *mod)
{
    return mod->rt != NULL;
}

static unsigned long inflight(const struct srv_module *mod)
{
    return atomic_load(&mod->inflight);
}

/* A family with one sample per active module. */
static void per_module(struct page *p, const struct srv *srv, const char *name,
                       const char *type, const char *help,
                       unsigned long (*value)(const struct srv_module *))
{
    family(p, name, type, help);
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].cfg->active)
            sample(p, name, &srv->mods[i], NULL, value(&srv->mods[i]));
}

static void http_counts(struct page *p, const struct srv_module *mod,
                        const struct srv_metrics *m)
{
    for (int i = 0; i < SRV_NCODES; i++) {
        unsigned long n = atomic_load_explicit(&m->http[i], memory_order_relaxed);
        if (n == 0 && (!mod || !mod->cfg->http_port))
            continue;
        char code[16];
        snprintf(code, sizeof code, "code=\"%d\"", http_codes[i]);
        sample(p, "awsm_http_requests_total", mod, code, n);
    }
}

static void histogram(struct page *p, const char *name, const struct srv_module *mod,
                      const struct srv_hist *h)
{
    unsigned long total = 0;
    for (int i = 0; i <= SRV_HIST_BUCKETS; i++) {
        total += atomic_load_explicit(&h->n[i], memory_order_relaxed);
        put(p, "%s_bucket", name);
        labels(p, mod);
        if (i < SRV_HIST_BUCKETS)
            put(p, ",le=\"%g\"} %lu\n", bucket_us[i] / 1e6, total);
        else
            put(p, ",le=\"+Inf\"} %lu\n", total);
    }
    put(p, "%s_sum", name);
    labels(p, mod);
    put(p, "} %.9f\n%s_count", atomic_load(&h->sum_ns) / 1e9, name);
    labels(p, mod);
    put(p, "} %lu\n", total);
}

static void module_metrics(struct page *p, const struct srv *srv)
{
    family(p, "awsm_http_requests_total", "counter",
           "HTTP responses by module, route and status code");
    http_counts(p, NULL, &srv->unrouted);
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].cfg->active)
            http_counts(p, &srv->mods[i], &srv->mods[i].metrics);
    family(p, "awsm_udp_replies_total", "counter", "UDP replies by module and status");
    for (int i = 0; i < srv->nmods; i++) {
        const struct srv_module *mod = &srv->mods[i];
        if (!mod->cfg->active || !mod->cfg->port)
            continue;
        sample(p, "awsm_udp_replies_total", mod, "status=\"ok\"",
               atomic_load(&mod->metrics.udp_ok));
        sample(p, "awsm_udp_replies_total", mod, "status=\"error\"",
               atomic_load(&mod->metrics.udp_error));
    }
    family(p, "awsm_sandboxes_total", "counter",
           "Sandboxes run to their end, by how they ended");
    for (int i = 0; i < srv->nmods; i++) {
        const struct srv_module *mod = &srv->mods[i];
        for (int e = 0; mod->cfg->active && e < SRV_NEND; e++) {
            char end[32];
            snprintf(end, sizeof end, "end=\"%s\"", end_names[e]);
            sample(p, "awsm_sandboxes_total", mod, end, atomic_load(&mod->metrics.ends[e]));
        }
    }
    per_module(p, srv, "awsm_admission_rejections_total", "counter",
               "Requests refused by admission control", not_admitted);
    per_module(p, srv, "awsm_module_loaded", "gauge",
               "1 if the module loaded, 0 if it failed to", loaded);
    per_module(p, srv, "awsm_inflight_requests", "gauge",
               "Requests queued or running, by module", inflight);
    family(p, "awsm_queue_wait_seconds", "histogram",
           "Time from a request's arrival to its sandbox's start");
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].cfg->active)
            histogram(p, "awsm_queue_wait_seconds", &srv->mods[i], &srv->mods[i].metrics.queue);
    family(p, "awsm_run_seconds", "histogram",
           "Time from a sandbox's start to its end (wall clock)");
    for (int i = 0; i < srv->nmods; i++)
        if (srv->mods[i].cfg->active)
            histogram(p, "awsm_run_seconds", &srv->mods[i], &srv->mods[i].metrics.run);
}

static void gauge(struct page *p, const char *name, const char *help, double v)
{
    family(p, name, "gauge", help);
    put(p, "%s %.17g\n", name, v);
}

static void counter(struct page *p, const char *name, const char *help, double v)
{
    family(p, name, "counter", help);
    put(p, "%s %.17g\n", name, v);
}

static void server_metrics(struct page *p, const struct srv *srv)
{
    struct sched_stats st = { 0, 0, 0, 0 };
    if (srv->sched)
        sched_stats(srv->sched, &st);
    gauge(p, "awsm_inflight", "Requests queued or running in the server",
          atomic_load(&srv->inflight));
    gauge(p, "awsm_queued_sandboxes", "Sandboxes waiting for a worker", st.queued);
    gauge(p, "awsm_parked_sandboxes", "Sandboxes waiting for I/O or a timer", st.parked);
    gauge(p, "awsm_http_connections", "Open HTTP connections", http_connections(srv));
    gauge(p, "awsm_http_held_bytes", "Request bodies, input and responses held for "
          "HTTP clients", (double)http_held(srv));
    gauge(p, "awsm_workers", "Worker threads", srv->nworkers);
    family(p, "awsm_worker_busy_seconds_total", "counter",
           "Time each worker has spent running sandboxes");
    for (int i = 0; srv->sched && i < srv->nworkers; i++)
        put(p, "awsm_worker_busy_seconds_total{worker=\"%d\"} %.9f\n", i,
            sched_busy_ns(srv->sched, i) / 1e9);
    counter(p, "awsm_preemptions_total", "Sandboxes interrupted by the timer",
            (double)st.preemptions);
    counter(p, "awsm_steals_total", "Sandboxes taken by an idle worker from a busy one",
            (double)st.steals);
    counter(p, "awsm_rejected_total", "Requests answered with an error before they ran",
            (double)atomic_load(&srv->rejected));
    counter(p, "awsm_deadline_misses_total", "Requests that ended past their relative deadline",
            (double)atomic_load(&srv->missed));
    gauge(p, "awsm_memory_committed_bytes", "Linear memory of all live sandboxes",
          (double)rt_memory_committed());
    gauge(p, "awsm_memory_budget_bytes", "The budget for all linear memories",
          (double)srv->memory_budget);
    gauge(p, "awsm_memory_pool_reservations", "Freed memory reservations kept for reuse",
          rt_memory_pooled());
    gauge(p, "awsm_memory_pool_capacity", "The most reservations the pool keeps",
          rt_memory_pool_max());
    gauge(p, "awsm_guest_open_files", "Host files the guests of all sandboxes hold",
          wasi_process_fds());
    gauge(p, "awsm_ready", "1 while serving, 0 while starting or draining",
          srv->ready && !atomic_load(&srv->draining));
}

int admin_page(struct srv *srv, const char *path, size_t n, char **body,
               size_t *len, const char **ctype)
{
    struct page p = { NULL, 0, 0, false };
    int status = 200;
    *ctype = "text/plain; charset=utf-8";
    if (n == 8 && memcmp(path, "/metrics", 8) == 0) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        module_metrics(&p, srv);
        server_metrics(&p, srv);
    } else if (n == 8 && memcmp(path, "/healthz", 8) == 0) {
        put(&p, "ok\n");
    } else if (n == 7 && memcmp(path, "/readyz", 7) == 0) {
        bool ready = srv->ready && !atomic_load(&srv->draining);
        status = ready ? 200 : 503;
        if (!ready && srv->ready && !srv->told_not_ready) {
            srv->told_not_ready = true;     /* when a balancer learns it */
            srv_log(srv, SRV_LOG_INFO, "/readyz: answered 503 (draining)");
        }
        put(&p, "%s\n", ready ? "ready" : srv->ready ? "draining" : "starting");
    } else {
        status = 404;
        put(&p, "no page %.*s: /metrics, /healthz or /readyz\n", (int)(n > 200 ? 200 : n),
            path);
    }
    if (p.failed) {
        free(p.s);
        return -1;
    }
    *body = p.s;
    *len = p.len;
    return status;
}
