/*
 * tests/fuzz/seams.h - for the fuzz targets that link server/request.c
 * without the runtime and WASI: its calls into them. The fuzzed code makes
 * no instance, so rt_instance_free only ever gets NULL, and the only WASI
 * context is the target's stand-in, `fake_wasi` (defined before this is
 * included), whose output the target's own wasi_captured hands out.
 */
#ifndef AWSM_TESTS_FUZZ_SEAMS_H
#define AWSM_TESTS_FUZZ_SEAMS_H

#include <stdlib.h>

void rt_instance_free(struct rt_instance *inst)
{
    if (inst != NULL)
        abort();
}

void wasi_ctx_free(struct wasi_ctx *w)
{
    if (w != NULL && w != fake_wasi)
        abort();
}

#endif
