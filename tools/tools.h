/* tools/tools.h - subcommand mains shared between the tools' binaries. */
#ifndef AWSM_TOOLS_H
#define AWSM_TOOLS_H

#include "compiler/compiler.h"

int awsm_run_main(int argc, char **argv);   /* awsm run (tools/awsm_run.c) */

/* The compiler awsmc_main uses: compiler/ linked in (awsmc: cg_target_id,
 * cg_compile) or the plugin (awsm compile: cache_target_id,
 * cache_compile, cache/plugin.h). */
struct awsmc_compiler {
    const char *(*target_id)(void);
    int (*compile)(const struct wm_module *m, const struct cg_options *opt,
                   const char *out_path, struct cg_error *err);
};
int awsmc_main(int argc, char **argv, const struct awsmc_compiler *c);

#endif
