/*
 * server/internal.h - what the parts of awsmrt share: loaded modules, the
 * sandbox (one per request), the scheduler's workers.
 *
 *   listener.c  libuv UDP listeners on the main thread: requests in,
 *               early error replies, signals, start-up and shutdown
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

#include "runtime/runtime.h"
#include "server/server.h"
#include "wasi/wasi.h"

/* ===== Modules ========================================================== */

struct srv_module {
    const struct srv_module_config *cfg;
    struct rt_module *rt;
    uv_udp_t udp;
    int fd;                     /* the socket, for replies from workers */
    struct srv *srv;
    bool bound;
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

struct sb {
    struct sb *next;                    /* run-queue link */
    struct srv_module *mod;
    struct sched_worker *worker;        /* set when it first runs */
    /* The request. */
    int argc;
    char **argv;                        /* argv[0] is the module's name */
    uint8_t *stdin_buf;
    size_t stdin_len;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    uint64_t t_arrive, t_start, t_end;  /* monotonic ns */
    uint64_t deadline;
    /* Execution. */
    enum sb_state state;
    void *sp;                           /* saved while switched out */
    struct sched_stack *stack;
    struct rt_instance *_Atomic inst;   /* read by the preemption timer */
    struct wasi_ctx *wasi;
    bool timed_out;
    /* The result. */
    enum sb_outcome outcome;
    int exit_code;
    bool has_exit_code;
    char error[600];
};

/* Build a sandbox for a request datagram, or return NULL and an error
 * message for the reply. */
struct sb *sb_request_parse(struct srv *srv, const char *buf, size_t len,
                            struct srv_module *mod, char *err, size_t errlen);
void sb_free(struct sb *sb);
/* The reply datagram for a finished sandbox, or an error reply. Returns
 * the length, or 0 when out of memory. */
size_t sb_reply_build(const struct sb *sb, char *out, size_t cap);
size_t srv_error_reply(const char *msg, char *out, size_t cap);

/* Runs on the sandbox's stack: the whole life of the guest. */
void sb_execute(struct sb *sb);

/* ===== The scheduler ==================================================== */

struct sched;

struct sched_options {
    int workers;
    uint32_t quantum_us;
    /* Called on the worker thread when a sandbox is done (reply, free). */
    void (*done_cb)(struct sb *sb, void *ud);
    void *done_ud;
};

int sched_new(const struct sched_options *o, struct sched **out, char *err,
              size_t errlen);
/* Queue a new sandbox (any thread). */
void sched_submit(struct sched *s, struct sb *sb);
/* From guest code (an interrupt handler, a host function): give the
 * worker to other sandboxes; returns when this one runs again. */
void sched_pause(struct sb *sb);
/* Park until sched_unpark (from the worker's own loop callbacks). */
void sched_park(struct sb *sb);
void sched_unpark(struct sb *sb);
uv_loop_t *sched_loop(struct sb *sb);
/* Before freeing the instance: the preemption timer stops looking at it. */
void sched_unpublish(struct sb *sb);
/* Let queued and running sandboxes finish, then join the workers. */
void sched_free(struct sched *s);
int sched_workers(const struct sched *s);

uint64_t srv_now_ns(void);

/* ===== The server ======================================================= */

struct srv {
    const struct srv_config *cfg;
    const struct srv_settings *set;
    int nmods;
    struct srv_module *mods;
    struct sched *sched;
    atomic_uint inflight;               /* queued or running */
    atomic_ulong served, rejected;
    uv_loop_t *loop;
    uv_signal_t sigint, sigterm;
    uv_timer_t drain;
    bool draining;
};

/* Load (compiling if needed) a module and check it is a WASI command;
 * err names the config file, line and module. */
int srv_load_module(struct srv *srv, struct srv_module *mod, char *err,
                    size_t errlen);

__attribute__((format(printf, 3, 4)))
void srv_log(const struct srv *srv, enum srv_log_level level, const char *fmt, ...);

#endif
