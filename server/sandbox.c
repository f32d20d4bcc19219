/*
 * server/sandbox.c - the life of one request's guest, on the sandbox's own
 * stack: a WASI context (argv from the request, stdin from its "stdin",
 * stdout and stderr captured in memory, the module's env and preopened
 * directories), a fresh instance (its own linear memory), _start, and the
 * outcome. Nothing survives the request: the instance and the WASI context
 * are freed before the sandbox is answered.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

/* Bytes of the sandbox stack kept for host calls (WASI, the runtime's trap
 * path) below the wasm stack limit. */
#define HOST_STACK_RESERVE (32u * 1024)

/* At a safe point after the preemption timer interrupted this sandbox:
 * past the deadline the call ends with a trap; otherwise the worker goes
 * to other sandboxes and this one resumes later. */
static void interrupt_cb(struct rt_instance *inst, void *ud)
{
    struct sb *sb = ud;
    if (sched_cancelled(sb)) {
        sb->cancelled = true;
        rt_instance_trap(inst, AWSM_TRAP_INTERRUPTED);
    }
    if (srv_now_ns() >= sb->deadline) {
        sb->timed_out = true;
        rt_instance_trap(inst, AWSM_TRAP_INTERRUPTED);
    }
    sched_pause(sb, false);
}

/* ===== Waiting without blocking the worker ============================== */

/* A poll_oneoff in flight: the sandbox is parked until one of its fds is
 * ready or the timer fires; the handles live on the sandbox's stack, so it
 * waits for their close callbacks before going on. */
struct sb_wait {
    struct sb *sb;
    uv_timer_t timer;
    uv_poll_t *polls;
    struct pollfd *fds;
    int nfds, nopen, nready;
    bool fired, fired_timer;
};

static void wait_fire(struct sb_wait *wt)
{
    if (!wt->fired) {
        wt->fired = true;
        sched_unpark(wt->sb);
    }
}

static void wait_timer_cb(uv_timer_t *t)
{
    struct sb_wait *wt = t->data;
    wt->fired_timer = true;
    wait_fire(wt);
}

static void wait_poll_cb(uv_poll_t *p, int status, int events)
{
    struct sb_wait *wt = p->data;
    struct pollfd *f = &wt->fds[p - wt->polls];
    f->revents = (short)(status < 0 ? POLLERR :
                         ((events & UV_READABLE ? POLLIN : 0) |
                          (events & UV_WRITABLE ? POLLOUT : 0) |
                          (events & UV_DISCONNECT ? POLLHUP : 0)));
    wt->nready++;
    wait_fire(wt);
}

/* A forced shutdown wakes the waiting sandbox at once. */
static void wait_cancel(struct sb *sb)
{
    wait_fire(sb->cancel_ud);
}

static void wait_close_cb(uv_handle_t *h)
{
    struct sb_wait *wt = h->data;
    if (--wt->nopen == 0)
        sched_unpark(wt->sb);
}

static void wait_start(struct sb_wait *wt, uv_loop_t *loop, uint64_t ms)
{
    for (int i = 0; i < wt->nfds; i++) {
        int ev = (wt->fds[i].events & POLLIN ? UV_READABLE : 0) |
                 (wt->fds[i].events & POLLOUT ? UV_WRITABLE : 0);
        wt->fds[i].revents = 0;
        if (uv_poll_init(loop, &wt->polls[i], wt->fds[i].fd) != 0) {
            wt->fds[i].revents = POLLNVAL;
            wt->nready++;
            continue;
        }
        wt->polls[i].data = wt;
        wt->nopen++;
        uv_poll_start(&wt->polls[i], ev, wait_poll_cb);
    }
    uv_timer_init(loop, &wt->timer);
    wt->timer.data = wt;
    wt->nopen++;
    if (wt->nready > 0)
        ms = 0;
    uv_timer_start(&wt->timer, wait_timer_cb, ms, 0);
}

static void wait_close(struct sb_wait *wt)
{
    for (int i = 0; i < wt->nfds; i++)
        if (wt->polls[i].data == wt)        /* initialised */
            uv_close((uv_handle_t *)&wt->polls[i], wait_close_cb);
    uv_close((uv_handle_t *)&wt->timer, wait_close_cb);
    sched_park(wt->sb);        /* until the last close callback */
}

/* wasi_hooks.wait: ppoll's contract, but the worker runs other sandboxes
 * meanwhile. Never waits past the request's deadline. */
static int hook_wait(void *ud, struct pollfd *fds, int nfds,
                     const struct timespec *timeout)
{
    struct sb *sb = ud;
    uint64_t now = srv_now_ns(), until = sb->deadline;
    if (timeout) {
        uint64_t t = (uint64_t)timeout->tv_sec * 1000000000ull +
                     (uint64_t)timeout->tv_nsec;
        if (now + t < until)
            until = now + t;
    }
    uint64_t ms = until > now ? (until - now + 999999) / 1000000 : 0;
    struct sb_wait wt = { .sb = sb, .fds = fds, .nfds = nfds };
    if (nfds > 0 && !(wt.polls = calloc(nfds, sizeof *wt.polls)))
        return -ENOMEM;
    wait_start(&wt, sched_loop(sb), ms);
    if (!wt.fired && !sched_cancelled(sb)) {
        sb->cancel = wait_cancel;
        sb->cancel_ud = &wt;
        sched_park(sb);
        sb->cancel = NULL;
    }
    wait_close(&wt);
    free(wt.polls);
    int ready = 0;
    for (int i = 0; i < nfds; i++)
        ready += fds[i].revents != 0;
    struct rt_instance *inst = atomic_load(&sb->inst);
    if (sched_cancelled(sb)) {
        sb->cancelled = true;
        rt_instance_trap(inst, AWSM_TRAP_INTERRUPTED);
    }
    /* The loop's timers have millisecond granularity and may fire a
     * little before the deadline they were set for: a wait that only the
     * deadline could end has met it. */
    if (ready == 0 && ((wt.fired_timer && until == sb->deadline) ||
                       srv_now_ns() >= sb->deadline)) {
        sb->timed_out = true;
        rt_instance_trap(inst, AWSM_TRAP_INTERRUPTED);
    }
    return ready;
}

/* rt_instance_options.atomic_wait: a sandbox's memory is its own, so
 * nothing can notify it: sleep for the timeout (up to the deadline, which
 * traps) with the worker running others. */
static uint32_t hook_atomic_wait(void *ud, int64_t timeout_ns)
{
    struct timespec t = { .tv_sec = (time_t)(timeout_ns / 1000000000),
                          .tv_nsec = (long)(timeout_ns % 1000000000) };
    hook_wait(ud, NULL, 0, timeout_ns < 0 ? NULL : &t);
    return 2;
}

static void hook_yield(void *ud)
{
    sched_pause(ud, true);
}

/* A file read or write on libuv's thread pool, the sandbox parked. */
struct sb_io {
    struct sb *sb;
    uv_fs_t req;
};

static void io_done_cb(uv_fs_t *req)
{
    struct sb_io *io = req->data;
    sched_unpark(io->sb);
}

static ssize_t hook_file_io(void *ud, int fd, const struct iovec *v, int n,
                            int64_t offset, bool write)
{
    struct sb *sb = ud;
    uv_buf_t stack_bufs[8], *bufs = stack_bufs;
    if (n > 8 && !(bufs = malloc((size_t)n * sizeof *bufs)))
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        bufs[i] = uv_buf_init(v[i].iov_base, (unsigned)v[i].iov_len);
    struct sb_io io = { .sb = sb };
    io.req.data = &io;
    int rc = write ? uv_fs_write(sched_loop(sb), &io.req, fd, bufs, n, offset, io_done_cb)
                   : uv_fs_read(sched_loop(sb), &io.req, fd, bufs, n, offset, io_done_cb);
    if (rc == 0)
        sched_park(sb);             /* until io_done_cb */
    ssize_t r = rc == 0 ? io.req.result : rc;
    uv_fs_req_cleanup(&io.req);
    if (bufs != stack_bufs)
        free(bufs);
    return r;
}

/* ===== Running ========================================================== */

/* Before the module's start function can run: from here on the
 * preemption timer may interrupt the instance. */
static void created_cb(struct rt_instance *inst, void *ud)
{
    struct sb *sb = ud;
    rt_instance_set_interrupt_handler(inst, interrupt_cb, sb);
    atomic_store(&sb->inst, inst);
}

static void fail(struct sb *sb, const char *prefix, const char *msg)
{
    sb->outcome = SB_ERROR;
    snprintf(sb->error, sizeof sb->error, "%s%s", prefix, msg);
}

/* Turn a failed rt_call or instantiation into the sandbox's outcome. */
static void outcome_of(struct sb *sb, const struct rt_error *err)
{
    int code;
    if (err->kind == RT_ERR_TRAP && err->trap == AWSM_TRAP_EXIT &&
        wasi_exit_code(sb->wasi, &code)) {
        sb->outcome = SB_OK;
        sb->exit_code = code;
        sb->has_exit_code = true;
    } else if (err->kind == RT_ERR_TRAP && sb->cancelled) {
        char msg[96];
        snprintf(msg, sizeof msg, "shutting down: stopped after %llu ms",
                 (unsigned long long)((srv_now_ns() - sb->t_arrive) / 1000000));
        fail(sb, "", msg);
    } else if (err->kind == RT_ERR_TRAP && sb->timed_out) {
        char msg[64];
        snprintf(msg, sizeof msg, "timeout after %u ms", sb->mod->cfg->timeout_ms);
        fail(sb, "", msg);
    } else {
        fail(sb, err->kind == RT_ERR_TRAP ? "trap: " : "", err->msg);
        sb->out_of_memory = err->kind == RT_ERR_NOMEM;
    }
}

static int wasi_setup(struct sb *sb)
{
    const struct srv_module_config *mc = sb->mod->cfg;
    struct wasi_preopen pre[mc->ndirs > 0 ? mc->ndirs : 1];
    for (int i = 0; i < mc->ndirs; i++)
        pre[i] = (struct wasi_preopen){ mc->dir_host[i], mc->dir_guest[i] };
    /* The module's env first: a request's own (HTTP headers) cannot
     * shadow what the operator set. */
    const char *envp[mc->nenv + sb->nenv + 1];
    for (int i = 0; i < mc->nenv; i++)
        envp[i] = mc->env[i];
    for (int i = 0; i < sb->nenv; i++)
        envp[mc->nenv + i] = sb->env[i];
    struct wasi_config wc = WASI_CONFIG_DEFAULT;
    wc.argc = sb->argc;
    wc.argv = (const char *const *)sb->argv;
    wc.envc = mc->nenv + sb->nenv;
    wc.envp = envp;
    wc.npreopens = mc->ndirs;
    wc.preopens = pre;
    wc.stdio[0] = (struct wasi_stdio){ -1, sb->stdin_buf, sb->stdin_len, 0 };
    /* Over HTTP, stdout is the response body: the route's limit. */
    wc.stdio[1] = (struct wasi_stdio){ -1, NULL, 0,
        sb->http ? mc->max_response : SRV_MAX_CAPTURE };
    wc.stdio[2] = (struct wasi_stdio){ -1, NULL, 0, SRV_MAX_CAPTURE };
    wc.hooks = (struct wasi_hooks){ hook_wait, hook_yield, hook_file_io, sb };
    wc.max_fds = mc->max_open_files ? mc->max_open_files
                                    : sb->mod->srv->set->max_open_files;
    wc.fd_group = &sb->mod->files;
    struct wasi_error werr;
    if (wasi_ctx_new(&wc, &sb->wasi, &werr) != 0) {
        fail(sb, "", werr.msg);
        sb->out_of_memory = werr.kind == WASI_ERR_NOMEM;
        return -1;
    }
    return 0;
}

static void run_start(struct sb *sb, struct rt_instance *inst)
{
    struct rt_extern ex;
    struct rt_error err;
    awsm_value v[1];
    if (rt_instance_export(inst, "_start", &ex) != 0 || ex.kind != WM_EXTERN_FUNC) {
        fail(sb, "", "the module exports no _start function");
        return;
    }
    const struct wm_functype *ft = rt_func_type(ex.u.func);
    if (ft->nparams != 0 || ft->nresults != 0) {
        fail(sb, "", "_start must take and return nothing");
        return;
    }
    if (rt_call(inst, ex.u.func, v, &err) == 0) {
        sb->outcome = SB_OK;
        sb->exit_code = 0;
        sb->has_exit_code = true;
    } else {
        outcome_of(sb, &err);
    }
}

void sb_execute(struct sb *sb)
{
    const struct srv_module_config *mc = sb->mod->cfg;
    if (sched_cancelled(sb)) {
        sb->cancelled = true;
        fail(sb, "", "shutting down: the request was not started");
        return;
    }
    if (srv_now_ns() >= sb->deadline) {
        sb->timed_out = true;
        char msg[64];
        snprintf(msg, sizeof msg, "timeout after %u ms (waiting in the queue)",
                 mc->timeout_ms);
        fail(sb, "", msg);
        return;
    }
    if (wasi_setup(sb) != 0)
        return;
    struct rt_instance_options o = {
        .stack_size = mc->stack_size - HOST_STACK_RESERVE,
        .max_memory_pages = mc->max_memory_pages,
        .host = sb->wasi,
        .on_created = created_cb,
        .created_ud = sb,
        .private_memory = true,         /* nobody else ever imports it */
        .resolve_cacheable = true,      /* wasi_resolve: the process's funcrefs */
        .atomic_wait = hook_atomic_wait,
        .wait_ud = sb,
    };
    struct rt_instance *inst = NULL;
    struct rt_error err;
    if (rt_instance_new(sb->mod->rt, wasi_resolve, sb->wasi, &o, &inst, &err) != 0)
        outcome_of(sb, &err);
    else
        run_start(sb, inst);
    sb->budget_refused = sb->outcome != SB_OK && inst && rt_instance_budget_refused(inst);
    if (sb->budget_refused) {
        size_t n = strlen(sb->error);
        snprintf(sb->error + n, sizeof sb->error - n, " (the server's memory "
                 "budget of %llu MiB for all sandboxes was exhausted)",
                 (unsigned long long)(sb->mod->srv->memory_budget >> 20));
    }
    /* The preemption timer may be looking at the instance: unpublish it
     * under the worker's lock. It is freed after the reply is sent
     * (sb_free): zeroing its memory is off the request's path. */
    sched_unpublish(sb);
    sb->done_inst = inst;
}
