/*
 * server/bench.c - srv_bench: the sandbox life cycle measured in-process,
 * through the same scheduler and sandbox code as requests, without the
 * network: a batch of sandboxes for one module is queued at once, and each
 * is timed from the moment a worker picks it up (stack, WASI context,
 * instance with its linear memory, _start, teardown) to the end of its
 * teardown. Reported as the median and 99th percentile in microseconds.
 *
 * Sandboxes are queued BENCH_WAVE at a time, as a busy server's queue
 * would hold them: a queue of the whole run (a million sandboxes) would
 * time the worker's walk through a heap that size and the page faults of
 * allocating it, not the life cycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

#define BENCH_WAVE 256u

struct bench {
    pthread_mutex_t lock;
    pthread_cond_t done;
    uint64_t *ns;
    uint32_t n, finished, failed;
    uint32_t wave_end;                  /* wake the submitter at this count */
    bool first_nomem;                   /* the first failure was for memory */
    char first_error[256];
};

static void bench_done_cb(struct sb *sb, int worker, void *ud)
{
    (void)worker;
    struct bench *b = ud;
    bool ok = sb->outcome == SB_OK && sb->exit_code == 0;
    bool nomem = sb->out_of_memory;
    char err[sizeof b->first_error] = "";
    if (!ok)
        snprintf(err, sizeof err, "%.200s", sb->error);
    uint64_t t0 = sb->t_start;
    sb_free(sb);
    uint64_t t = srv_now_ns() - t0;
    pthread_mutex_lock(&b->lock);
    b->ns[b->finished++] = t;
    if (!ok && b->failed++ == 0) {
        b->first_nomem = nomem;
        snprintf(b->first_error, sizeof b->first_error, "%.200s",
                 err[0] ? err : "nonzero exit status");
    }
    if (b->finished == b->wave_end)     /* one wake-up per wave */
        pthread_cond_signal(&b->done);
    pthread_mutex_unlock(&b->lock);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static struct sb *bench_sandbox(struct srv_module *mod)
{
    struct sb *sb = sb_new(mod, 0);
    if (!sb)
        return NULL;
    sb->t_arrive = srv_now_ns();
    sb->deadline = sb->t_arrive + (uint64_t)mod->cfg->timeout_ms * 1000000ull;
    sb->sched_deadline = sb->deadline;
    return sb;
}

/* Queue sandboxes `from` to `to` - 1 and wait for them. */
static int bench_wave(struct sched *s, struct srv_module *mod, struct bench *b,
                      uint32_t from, uint32_t to, struct srv_error *err)
{
    int rc = 0;
    pthread_mutex_lock(&b->lock);
    b->wave_end = to;
    pthread_mutex_unlock(&b->lock);
    for (uint32_t i = from; i < to && rc == 0; i++) {
        struct sb *sb = bench_sandbox(mod);
        if (!sb) {
            srv_fail(err, SRV_ERR_NOMEM, "out of memory for sandbox %u", i);
            pthread_mutex_lock(&b->lock);
            b->n = b->wave_end = i;     /* wait for those queued */
            pthread_mutex_unlock(&b->lock);
            rc = -1;
        } else {
            sched_submit(s, sb);
        }
    }
    pthread_mutex_lock(&b->lock);
    while (b->finished < b->wave_end)
        pthread_cond_wait(&b->done, &b->lock);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int bench_run(struct sched *s, struct srv_module *mod, struct bench *b,
                     uint32_t n, struct srv_error *err)
{
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i += BENCH_WAVE)
        rc = bench_wave(s, mod, b, i, n - i < BENCH_WAVE ? n : i + BENCH_WAVE, err);
    return rc;
}

int srv_bench(const struct srv_config *cfg, const struct srv_settings *set,
              const char *module, uint32_t n, struct srv_bench_result *out,
              struct srv_error *err)
{
    struct srv srv = { .cfg = cfg, .set = set, .nmods = cfg->nmodules };
    struct srv_module mod = { .srv = &srv };
    for (int i = 0; i < cfg->nmodules; i++)
        if (strcmp(cfg->modules[i].name, module) == 0)
            mod.cfg = &cfg->modules[i];
    if (!mod.cfg)
        return srv_fail(err, SRV_ERR_USAGE, "%s: no module \"%s\"", cfg->file,
                        module);
    if (srv_load_module(&srv, &mod, NULL, err) != 0)
        return -1;
    struct bench b = { .n = n };
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.done, NULL);
    b.ns = calloc(n, sizeof *b.ns);
    struct sched *s = NULL;
    struct sched_options so = {
        .workers = set->workers > 0 ? set->workers : 1,
        .quantum_us = set->quantum_us,
        .policy = set->policy,
        .done_cb = bench_done_cb,
        .ud = &b,
    };
    int rc = b.ns ? sched_new(&so, &s, err) : srv_fail(err, SRV_ERR_NOMEM,
                                                        "out of memory");
    if (rc == 0)
        rc = bench_run(s, &mod, &b, n, err);
    sched_free(s);
    if (rc == 0 && b.failed)
        rc = srv_fail(err, b.first_nomem ? SRV_ERR_NOMEM : SRV_ERR_SANDBOX,
                      "%u of %u sandboxes failed: %s", b.failed, n, b.first_error);
    if (rc == 0) {
        qsort(b.ns, n, sizeof *b.ns, cmp_u64);
        out->n = n;
        out->median_us = b.ns[n / 2] / 1e3;
        out->p99_us = b.ns[(size_t)n * 99 / 100] / 1e3;
        out->min_us = b.ns[0] / 1e3;
    }
    free(b.ns);
    pthread_cond_destroy(&b.done);
    pthread_mutex_destroy(&b.lock);
    rt_module_free(mod.rt);
    return rc;
}
