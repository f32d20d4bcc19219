/* bench/lua/setjmp.h - the wasm build's stand-in for <setjmp.h>, which
 * Debian's wasi-libc does not support (clang 14 cannot lower setjmp for
 * wasm). ldo.c includes it for Lua's error handling; the wasm build
 * defines LUAI_TRY to call straight through and LUAI_THROW to abort
 * (bench/build.mk), so a Lua error ends the run. bench.c's script raises
 * none, and every build must print the same line. */
