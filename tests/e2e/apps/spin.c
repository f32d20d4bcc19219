/* spin: never finishes (a loop the compiler cannot remove). */
int main(void)
{
    volatile unsigned long n = 0;
    for (;;)
        n++;
}
