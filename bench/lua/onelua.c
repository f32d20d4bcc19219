/* onelua.c - Lua 5.3.5's core and the libraries bench.c opens, as one
 * translation unit (as Lua's own later releases ship onelua.c), so that
 * each runtime's build compiles it in one step. Left out: the os, io and
 * package libraries (no files, processes or dynamic loading in the
 * benchmark), the debug, coroutine, utf8 and bit32 libraries, and the
 * standalone interpreters. */
#include "lapi.c"
#include "lauxlib.c"
#include "lbaselib.c"
#include "lcode.c"
#include "lctype.c"
#include "ldebug.c"
#include "ldo.c"
#include "ldump.c"
#include "lfunc.c"
#include "lgc.c"
#include "llex.c"
#include "lmathlib.c"
#include "lmem.c"
#include "lobject.c"
#include "lopcodes.c"
#include "lparser.c"
#include "lstate.c"
#include "lstring.c"
#include "lstrlib.c"
#include "ltable.c"
#include "ltablib.c"
#include "ltm.c"
#include "lundump.c"
#include "lvm.c"
#include "lzio.c"
