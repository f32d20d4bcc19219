/*
 * tools/asan_options.c - AddressSanitizer's defaults for every program of
 * the sanitizer build (linked into each when AWSM_SANITIZE is on).
 *
 * intercept_tls_get_addr=0: the sanitizer runtime of GCC up to 13 (Debian
 * 12's gcc 12) takes a dynamic TLS block whose start happens to lie at
 * sizeof(Glibc_2_19_tls_header) past a page boundary for one with a
 * pre-2.25 glibc header, and reads its range from the bytes before it;
 * LeakSanitizer's tracer then scans that bogus range and crashes at exit
 * ("Tracer caught signal 11"), reporting nothing, in awsmrt after the
 * compiler plugin (LLVM, with thread-local data) was loaded. Whether a
 * block lands there depends on the process's layout, so it came and went
 * with the length of the build directory's path. Without the interception
 * LeakSanitizer does not scan dynamic TLS; nothing of ours keeps heap
 * pointers only there.
 */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
    return "intercept_tls_get_addr=0";
}
