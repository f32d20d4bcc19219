/* tools/tools.h - subcommand mains shared between the tools' binaries. */
#ifndef AWSM_TOOLS_H
#define AWSM_TOOLS_H

int awsm_run_main(int argc, char **argv);   /* awsm run (tools/awsm_run.c) */
int awsmc_main(int argc, char **argv);      /* awsmc, awsm compile */

#endif
