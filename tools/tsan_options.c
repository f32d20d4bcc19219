/*
 * tools/tsan_options.c - ThreadSanitizer's default suppressions for every
 * program of the ThreadSanitizer build (linked into each when AWSM_TSAN is
 * on).
 *
 * race:libLLVM.so: libLLVM is not instrumented, so TSan sees its memory
 * accesses only where they reach an interceptor (a pthread_mutex_lock),
 * never the atomics that order them. When awsmrt compiles two modules at
 * once, on two threads with a context each (which LLVM supports), the
 * first use of a lazily created LLVM object (the mutex ManagedStatic of
 * TimerGroup, published with an atomic inside libLLVM) is then reported
 * as a race between the thread that created it and the one that locks it.
 * Reports with a frame in libLLVM are dropped; the rest of the program,
 * the compiler's own code included, is checked as before.
 */
const char *__tsan_default_suppressions(void);

const char *__tsan_default_suppressions(void)
{
    return "race:libLLVM.so\n";
}
