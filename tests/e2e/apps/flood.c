/* flood: writes argv[1] MiB (default 16) to stdout and as much to stderr,
 * then exits 0: output far past what a reply can carry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    static char block[1 << 20];
    long mib = argc > 1 ? atol(argv[1]) : 16;
    memset(block, 'o', sizeof block);
    for (long i = 0; i < mib; i++) {
        fwrite(block, 1, sizeof block, stdout);
        fwrite(block, 1, sizeof block, stderr);
    }
    printf("done\n");
    return 0;
}
