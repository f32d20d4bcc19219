/* tools/awsmc_main.c - the awsmc binary (the command is in awsmc.c). */
#include "tools/tools.h"

int main(int argc, char **argv)
{
    return awsmc_main(argc, argv);
}
