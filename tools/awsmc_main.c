/* tools/awsmc_main.c - the awsmc binary (the command is in awsmc.c), with
 * the compiler linked in. */
#include "tools/tools.h"

int main(int argc, char **argv)
{
    static const struct awsmc_compiler in_process = { cg_target_id, cg_compile };
    return awsmc_main(argc, argv, &in_process);
}
