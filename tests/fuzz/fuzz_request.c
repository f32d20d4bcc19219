/*
 * tests/fuzz/fuzz_request.c - libFuzzer target: awsmrt's UDP request
 * parser and reply builder (server/request.c) on any bytes.
 *
 *   - The input as a request datagram to module "fib" (argsize 2), beside
 *     a second module: sb_request_parse gives a sandbox whose argv and
 *     stdin are walked, or an error message (never neither).
 *   - The input split in two as a guest's stdout and stderr, any bytes: the
 *     reply must be JSON that parses, fits a datagram, and says
 *     "truncated" when it had to cut; for an odd length, an error reply
 *     whose message is the input's first bytes must carry it.
 *
 * Link seams: request.c's calls into the runtime and WASI are defined
 * here. The fuzzed code makes no instance, so rt_instance_free only ever
 * gets NULL; wasi_captured hands out the fuzzer's bytes.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *guest_out[3];
static size_t guest_len[3];
static struct wasi_ctx *const fake_wasi = (struct wasi_ctx *)&guest_out;

#include "seams.h"

const uint8_t *wasi_captured(const struct wasi_ctx *w, int fd, size_t *len,
                             bool *truncated)
{
    if (w != fake_wasi || fd < 1 || fd > 2)
        abort();
    *len = guest_len[fd];
    *truncated = false;
    return guest_out[fd];
}

static struct srv_module_config configs[2] = {
    { .name = "fib", .port = 1, .argsize = 2, .active = true },
    { .name = "other", .port = 2, .argsize = 0, .active = true },
};
static const struct srv_config config = { .file = "fuzz.json", .nmodules = 2,
                                          .modules = configs };
static struct srv srv;
static struct srv_module mods[2];

static void setup(void)
{
    srv.cfg = &config;
    srv.nmods = 2;
    srv.mods = mods;
    for (int i = 0; i < 2; i++)
        mods[i] = (struct srv_module){ .cfg = &configs[i], .srv = &srv };
}

static void parse_request(const uint8_t *data, size_t size)
{
    char err[256] = "";
    struct sb *sb = sb_request_parse(&srv, (const char *)data, size, &mods[0],
                                     err, sizeof err);
    if (!sb) {
        if (!err[0])
            abort();                    /* refused without saying why */
        return;
    }
    if (sb->argc < 1 || sb->argc > 3 || strcmp(sb->argv[0], "fib") != 0 ||
        sb->argv[sb->argc] != NULL)
        abort();
    volatile size_t sum = sb->stdin_len;
    for (int i = 0; i < sb->argc; i++)
        sum += strlen(sb->argv[i]);
    if (sb->stdin_len)
        sum += (unsigned char)sb->stdin_buf[sb->stdin_len - 1];
    sb_free(sb);
}

static void build_reply(const uint8_t *data, size_t size)
{
    static char out[SRV_MAX_DATAGRAM];
    struct sb *sb = sb_new(&mods[0], 0);
    if (!sb)
        return;
    sb->wasi = fake_wasi;
    if (size % 2) {                     /* an error reply, any bytes in its text */
        size_t n = size < sizeof sb->error ? size : sizeof sb->error - 1;
        sb->outcome = SB_ERROR;
        memcpy(sb->error, data, n);
        sb->error[n] = '\0';
    }
    guest_out[1] = data, guest_len[1] = size / 2;
    guest_out[2] = data + size / 2, guest_len[2] = size - size / 2;
    size_t n = sb_reply_build(sb, out, sizeof out);
    json_error_t je;
    json_t *r = n ? json_loadb(out, n, JSON_ALLOW_NUL, &je) : NULL;
    if (!r || n > SRV_MAX_DATAGRAM || !json_is_string(json_object_get(r, "stdout")))
        abort();                        /* no reply, or not JSON */
    size_t so = json_string_length(json_object_get(r, "stdout"));
    if (so < guest_len[1] && !json_is_true(json_object_get(r, "truncated")))
        abort();                        /* cut without saying so */
    if (sb->outcome == SB_ERROR && !json_is_string(json_object_get(r, "error")))
        abort();                        /* an error reply that does not say why */
    json_decref(r);
    sb->wasi = NULL;
    sb_free(sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (srv.mods == NULL)
        setup();
    parse_request(data, size);
    build_reply(data, size);
    return 0;
}
