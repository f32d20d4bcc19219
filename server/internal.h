/*
 * server/internal.h - what the parts of awsmrt share: loaded modules, the
 * sandbox (one per request), the scheduler's workers.
 *
 *   listener.c  start-up, signals and shutdown on the main thread; the
 *               UDP listeners (one socket per module per worker, on the
 *               worker's loop): requests in, limits, admission control,
 *               early error replies, replies
 *   http.c      the HTTP/1.1 listeners and connections (on the workers'
 *               loops): requests -> struct sb; results -> responses
 *   request.c   request JSON -> struct sb; results -> reply JSON
 *   sandbox.c   what runs on a sandbox's own stack: WASI context,
 *               instance, _start, captured output
 *   sched.c     worker threads, run queues, the preemption timer, stacks
 *   switch_*.S  the context switch
 */
#ifndef AWSM_SERVER_INTERNAL_H
#define AWSM_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <uv.h>

#include "cache/cache.h"
#include "runtime/runtime.h"
#include "server/server.h"
#include "wasi/wasi.h"

/* ===== Modules ========================================================== */

struct srv_module;

/* One UDP socket of one module on one worker's loop: the workers' sockets
 * of a port form a SO_REUSEPORT group, and the kernel spreads datagrams
 * over them. */
struct srv_listener {
    uv_poll_t poll;             /* readable: recvmmsg takes what is there */
    struct srv_module *mod;
    int worker;
    int fd;                     /* for replies, from the worker that owns it */
    bool open;                  /* uv_poll_init done: uv_close and close(fd) */
};

/* Datagrams one recvmmsg takes from a module's socket when it is readable.
 * The loop's epoll is level-triggered: what is left is taken on the next
 * pass, after what was taken has been queued for the scheduler. */
#define SRV_UDP_BATCH 8

/* Recent execution times of a module, for admission control. */
#define SRV_WINDOW 256u

struct srv_window {
    pthread_mutex_t lock;
    uint64_t ns[SRV_WINDOW];            /* a ring of CPU times */
    uint32_t n, next, since;            /* filled, next slot, since estimate */
    _Atomic uint64_t estimate_ns;       /* the percentile, refreshed */
};

/* ===== Metrics (admin.c prints them) ==================================== */

struct srv;
struct sb;

/* The HTTP status codes awsmrt answers with, in metrics order. */
#define SRV_HTTP_CODES 200, 400, 404, 405, 408, 413, 429, 431, 500, 503, 504
#define SRV_NCODES 11
#define SRV_HIST_BUCKETS 16             /* 100 us .. 10 s, then +Inf */

struct srv_hist {
    atomic_ulong n[SRV_HIST_BUCKETS + 1];
    _Atomic uint64_t sum_ns;
};

/* How a sandbox ended. */
enum srv_end { SRV_END_OK, SRV_END_EXIT, SRV_END_TRAP, SRV_END_TIMEOUT,
               SRV_END_CANCELLED, SRV_END_ERROR, SRV_NEND };

struct srv_metrics {
    atomic_ulong http[SRV_NCODES];      /* responses by status code */
    atomic_ulong udp_ok, udp_error;     /* replies */
    atomic_ulong ends[SRV_NEND];        /* sandboxes by how they ended */
    atomic_ulong not_admitted;          /* refused by admission control */
    struct srv_hist queue, run;         /* arrival -> start -> end */
};

/* Count a response with `status` (mod NULL: no route matched). */
void srv_count_http(struct srv *srv, struct srv_module *mod, int status);
/* Count a finished sandbox: how it ended, its queue and run times. */
void srv_count_done(const struct sb *sb);
/* The admin port's pages: /metrics, /healthz, /readyz. Returns the
 * status; *body is malloc'ed (the caller frees it). */
int admin_page(struct srv *srv, const char *path, size_t n, char **body,
               size_t *len, const char **ctype);

struct srv_module {
    const struct srv_module_config *cfg;
    struct rt_module *rt;       /* NULL if it failed to load */
    struct srv_listener *ls;    /* one per worker */
    struct srv *srv;
    atomic_uint inflight;       /* queued or running */
    uint32_t max_inflight;      /* its own limit (config or default) */
    uint64_t rel_deadline_ns;   /* for EDF and admission control */
    struct wasi_fd_group files; /* its sandboxes' host fds together */
    struct srv_window window;
    struct srv_metrics metrics;
};

/* ===== Sandboxes ======================================================== */

enum sb_state {
    SB_NEW,                     /* queued, not started */
    SB_RUNNING,
    SB_READY,                   /* preempted: runnable */
    SB_BLOCKED,                 /* parked on I/O; a callback readies it */
    SB_DONE,
};

enum sb_outcome { SB_OK, SB_ERROR };

struct sched_stack;
struct sched_worker;
struct http_conn;

struct sb {
    struct sb *next, *prev;             /* the worker's parked list */
    struct srv_module *mod;
    struct sched_worker *worker;        /* set when it first runs; changes
                                           when another worker steals it */
    /* The request. */
    int argc;
    char **argv;                        /* argv[0] is the module's name */
    uint8_t *stdin_buf;
    size_t stdin_len;
    struct sockaddr_storage peer;       /* UDP: where the reply goes */
    socklen_t peer_len;
    struct http_conn *http;             /* HTTP: the connection to answer */
    int home;                           /* the worker that must answer it
                                           (its connection's loop); -1: any */
    int nenv;
    char **env;                         /* the request's own "KEY=VALUE":
                                           one block, pointers then strings */
    uint64_t held;                      /* HTTP: its body's bytes, counted */
    uint64_t t_arrive, t_start, t_end;  /* monotonic ns */
    uint64_t deadline;                  /* the timeout: stopped there */
    uint64_t sched_deadline;            /* t_arrive + relative deadline: EDF */
    uint64_t admitted;                  /* admission control's share (ppm) */
    uint64_t id;                        /* for the access log */
    /* Scheduling (sched.c). */
    uint64_t key, seq;                  /* run-queue order */
    int heap_idx;
    uint8_t level;                      /* 0 fresh, 1 has used a quantum */
    bool pinned;                        /* resumes inside host code: stays */
    uint64_t run_ns;                    /* CPU time on workers so far */
    void (*cancel)(struct sb *sb);      /* wakes it early while parked */
    void *cancel_ud;
    bool cancelled;                     /* stopped by a forced shutdown */
    /* Execution. */
    enum sb_state state;
    void *sp;                           /* saved while switched out */
    struct sched_stack *stack;
    struct rt_instance *_Atomic inst;   /* read by the preemption timer */
    struct rt_instance *done_inst;      /* freed after the reply (sb_free) */
    struct wasi_ctx *wasi;
    bool timed_out;
    bool budget_refused;                /* the server's memory budget stopped it */
    /* The result. */
    enum sb_outcome outcome;
    int exit_code;
    bool has_exit_code;
    bool out_of_memory;                 /* SB_ERROR for want of memory
                                           (srv_bench: SRV_ERR_NOMEM) */
    char error[600];
    char *argv_room[];                  /* argv, while sb_new's room for it
                                           suffices: one allocation */
};

/* An empty sandbox for a request to `mod` with room for `nargs` arguments
 * after argv[0], or NULL when out of memory. */
struct sb *sb_new(struct srv_module *mod, int nargs);
/* Build a sandbox for a request datagram, or return NULL and an error
 * message for the reply. */
struct sb *sb_request_parse(struct srv *srv, const char *buf, size_t len,
                            struct srv_module *mod, char *err, size_t errlen);
void sb_free(struct sb *sb);
/* A finished sandbox's wait from arrival to its start (or its end, if it
 * never started), and the wall-clock time from its start to its end (0 if
 * it never started; sb->run_ns is its CPU time). */
uint64_t sb_queued_ns(const struct sb *sb);
uint64_t sb_elapsed_ns(const struct sb *sb);
/* The reply datagram for a finished sandbox, or an error reply, written
 * into out[0..cap). Returns the length, or 0 when even a reply with no
 * output would not fit (never with cap SRV_MAX_DATAGRAM). */
size_t sb_reply_build(const struct sb *sb, char *out, size_t cap);
size_t srv_error_reply(const char *msg, char *out, size_t cap);

/* Runs on the sandbox's stack: the whole life of the guest. */
void sb_execute(struct sb *sb);

/* ===== The scheduler ==================================================== */

struct sched;

struct sched_options {
    int workers;
    uint32_t quantum_us;
    enum srv_policy policy;     /* EDF by deadline, FIFO by arrival */
    bool stack_guard;           /* a guard page below every stack */
    /* Called on the worker thread when a sandbox is done (reply, free). */
    void (*done_cb)(struct sb *sb, int worker, void *ud);
    /* Optional, on each worker's thread: before it serves, open what it
     * receives on (its listeners) on its loop; then, when accepting stops,
     * stop receiving (the sockets stay open for replies); and at its end,
     * close them (on that loop). */
    int (*open_cb)(int worker, uv_loop_t *loop, void *ud,
                   struct srv_error *err);
    void (*stop_cb)(int worker, void *ud);
    void (*close_cb)(int worker, void *ud);
    void *ud;
};

/* Start the workers (each runs open_cb first: all or nothing; the error is
 * the first failing open_cb's, or the scheduler's own). */
int sched_new(const struct sched_options *o, struct sched **out,
              struct srv_error *err);
/* Queue a new sandbox on the calling worker (from its loop's callbacks:
 * receive where it runs), or, from any other thread, on the least loaded
 * worker. */
void sched_submit(struct sched *s, struct sb *sb);
/* Stop receiving: every worker runs stop_cb on its thread. */
void sched_stop_accepting(struct sched *s);
/* Forced shutdown: running sandboxes are interrupted at their next safe
 * point, parked ones woken, queued ones not started (sched_cancelled). */
void sched_cancel_all(struct sched *s);
bool sched_cancelled(const struct sb *sb);
/* From guest code: give the worker to other sandboxes; returns when this
 * one runs again. From the interrupt handler (a safe point of compiled
 * code) it may resume on another worker; from a host function it must be
 * `pinned` to this one (host code may keep thread-local state). */
void sched_pause(struct sb *sb, bool pinned);
/* Park until sched_unpark (from the worker's own loop callbacks). */
void sched_park(struct sb *sb);
void sched_unpark(struct sb *sb);
uv_loop_t *sched_loop(struct sb *sb);
/* Before freeing the instance: the preemption timer stops looking at it. */
void sched_unpublish(struct sb *sb);
/* Let queued and running sandboxes finish, then join the workers. */
void sched_free(struct sched *s);
int sched_workers(const struct sched *s);
/* Counters for the log and SIGUSR1. */
struct sched_stats {
    uint64_t steals, preemptions;
    unsigned queued, parked;            /* now, on all workers */
};
void sched_stats(const struct sched *s, struct sched_stats *out);
/* Time worker `worker` has spent running sandboxes. */
uint64_t sched_busy_ns(const struct sched *s, int worker);
const char *sched_policy_name(enum srv_policy p);

uint64_t srv_now_ns(void);

/* ===== The server ======================================================= */

struct srv {
    const struct srv_config *cfg;
    const struct srv_settings *set;
    int nmods;
    struct srv_module *mods;
    struct sched *sched;
    int nworkers;
    char (*bufs)[SRV_UDP_BATCH][65536]; /* receive buffers per worker */
    char (*replies)[SRV_MAX_DATAGRAM];  /* a reply buffer per worker */
    atomic_uint inflight;               /* queued or running */
    atomic_ulong served, rejected, missed, timeouts;
    _Atomic uint64_t admitted;          /* admission control: ppm of workers */
    uint64_t capacity;                  /* nworkers * 1e6 */
    uint64_t memory_budget;             /* bytes, as set in the runtime */
    unsigned fd_limit;                  /* host fds for all sandboxes */
    uv_loop_t *loop;
    uv_signal_t sigint, sigterm, sighup, sigusr1;
    uv_timer_t drain;
    uint64_t drain_start;
    atomic_bool draining;               /* a signal came: not ready */
    atomic_bool stopped_accepting;      /* the listeners are closed */
    bool cancelling;
    bool ready;                         /* serving: /readyz says so */
    bool told_not_ready;                /* /readyz has answered 503 */
    struct http *http;                  /* http.c's: ports, connections */
    struct srv_metrics unrouted;        /* HTTP answers before a route */
    _Atomic uint64_t next_id;           /* sandbox ids, for the access log */
};

/* Why a request was refused before it ran. */
enum srv_refusal {
    SRV_ACCEPTED,
    SRV_OVERLOADED,             /* the server's or the module's in-flight limit */
    SRV_NOT_ADMITTED,           /* admission control */
};

/* Take the server's and the module's in-flight slots, apply admission
 * control, set the deadlines and queue the sandbox on this worker; or
 * return why not, with a message for the reply (the caller frees sb). */
enum srv_refusal srv_admit(struct srv_module *mod, struct sb *sb, char *err,
                           size_t errlen);

/* "IP:PORT" of an IPv4 or IPv6 address, for the log. */
void srv_addr_name(const struct sockaddr *a, char *buf, size_t len);

/* A socket bound to `port` on --host (SOCK_DGRAM or SOCK_STREAM), in the
 * port's SO_REUSEPORT group with `group`; the fd, or -1 with err naming
 * the module, the address and why (SRV_ERR_USAGE: --host is no address;
 * SRV_ERR_SYSTEM). */
int srv_port_bind(const struct srv *srv, const struct srv_module_config *mc,
                  int type, uint16_t port, bool group, struct srv_error *err);

/* ===== HTTP (http.c) ===================================================== */

/* The routes by port, checked free; before the workers start. */
int http_init(struct srv *srv, struct srv_error *err);
/* On worker `worker`'s thread: its listeners on its loop; then stop
 * accepting (idle keep-alive connections close, the others after their
 * response); at its end close everything. */
int http_open(struct srv *srv, int worker, uv_loop_t *loop,
              struct srv_error *err);
void http_stop(struct srv *srv, int worker);
void http_close(struct srv *srv, int worker);
/* The admin port (--admin-port) on the main thread's loop; closed last. */
int http_open_admin(struct srv *srv, uv_loop_t *loop, struct srv_error *err);
void http_close_admin(struct srv *srv);
/* Open HTTP connections, and the bytes held for clients (bodies, input,
 * responses), on all workers. */
unsigned http_connections(const struct srv *srv);
uint64_t http_held(const struct srv *srv);
void http_free(struct srv *srv);
/* On the sandbox's home worker: send its response (the sandbox stays the
 * caller's). */
void http_respond(struct sb *sb);
/* Responses still being written (the drain waits for them). */
unsigned http_writing(const struct srv *srv);

/* Load (compiling if needed) a module and check it is a WASI command;
 * err names the config file, line and module (SRV_ERR_MODULE or
 * SRV_ERR_NOMEM). *how (if not NULL): compiled, from the cache, or a .so. */
int srv_load_module(struct srv *srv, struct srv_module *mod,
                    enum cache_result *how, struct srv_error *err);
/* srv_load_module for every active module, on up to `threads` threads at
 * once (compiling is the slow part, and each compile is single-threaded):
 * errs[i] for module i (zeroed by the caller), kind SRV_ERR_NONE when it
 * loaded. */
void srv_load_modules(struct srv *srv, int threads, struct srv_error *errs);

/* Set err's kind and message; returns -1, for `return srv_fail(...)`.
 * Defined in config.c, which every fuzz target of the server links. */
__attribute__((format(printf, 3, 4)))
int srv_fail(struct srv_error *err, enum srv_error_kind kind, const char *fmt, ...);

__attribute__((format(printf, 3, 4)))
void srv_log(const struct srv *srv, enum srv_log_level level, const char *fmt, ...);

#endif
