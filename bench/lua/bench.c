/* bench: the Lua 5.3 interpreter (bench/lua/: the sources come from npm's
 * lua-src package) running a script that exercises its main paths: calls
 * and returns (recursive fib), closures and upvalues, table construction
 * and table.sort with a Lua comparator, string.format, table.concat,
 * string.gmatch and gsub over the result, and integer arithmetic. Prints
 * one line of results, which every runtime must print alike.
 *
 * usage: bench [n] (default 33: fib(n), and tables of n * 1000 entries) */
#include <stdio.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static const char script[] =
    "local n = math.tointeger(tonumber(N)) or 33\n"
    "local function fib(k) if k < 2 then return k end return fib(k - 1) + fib(k - 2) end\n"
    "local function counter() local c = 0 return function(d) c = c + d return c end end\n"
    "local t, add = {}, counter()\n"
    "for i = 1, n * 1000 do t[i] = (i * 7919) % 1000003; add(t[i] % 7) end\n"
    "table.sort(t, function(a, b) return a > b end)\n"
    "local s = {}\n"
    "for i = 1, n * 100 do s[#s + 1] = string.format('%d:%x', i, t[i]) end\n"
    "local str = table.concat(s, ',')\n"
    "local words = 0\n"
    "for w in string.gmatch(str, '%d+:%x*a') do words = words + 1 end\n"
    "local swapped = select(2, string.gsub(str, '(%d+):(%x+)', '%2=%1'))\n"
    "local h = 0\n"
    "for i = 1, #t do h = (h * 31 + t[i]) % 4294967296 end\n"
    "print(string.format('lua n=%d fib=%d words=%d swaps=%d hash=%d len=%d sum=%d',\n"
    "      n, fib(n), words, swapped, h, #str, add(0)))\n";

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        return 1;
    luaL_requiref(L, "_G", luaopen_base, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    lua_settop(L, 0);
    lua_pushstring(L, argc > 1 ? argv[1] : "33");
    lua_setglobal(L, "N");
    if (luaL_dostring(L, script) != LUA_OK) {
        fprintf(stderr, "bench: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_close(L);
    return 0;
}
