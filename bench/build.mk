# bench/build.mk - builds every benchmark program for every runtime that
# bench/run.sh times. Run from the repository root:
#
#   make -f bench/build.mk OUT=BUILD/bench [-j2]
#
# OUT/native/P          cc -O2, the baseline
# OUT/wasm/P.wasm       clang --target=wasm32-wasi -O2, for awsm and node
# OUT/wasm/P-bulk.wasm  the same with -mbulk-memory, for P in $(BULK)
# OUT/wasm/P-simd.wasm  the same with -msimd128 (auto-vectorised), for P in
#                       $(SIMD); no wasm2c build: wabt 1.0.32's wasm2c
#                       aborts on SIMD
# OUT/w2c/P/run         wasm2c of P.wasm + bench/w2c/wasi_shim.c, cc -O2
# OUT/*/sqlite          bench/sqlite/speedtest.c with the SQLite amalgamation
#                       (npm's better-sqlite3, into OUT/sqlite-src), each way
# OUT/*/lua             bench/lua/bench.c with Lua 5.3 (npm's lua-src, into
#                       OUT/lua-src), each way
# Both sources come from npm tarballs pinned by SHA-256 (bench/npm_fetch.sh).
# OUT/timeit            the timer

OUT      ?= build/bench
BULK     ?= strings
SIMD     ?= hashmap matmul nbody pixels sha256 sort stencil
PROGRAMS ?= $(basename $(notdir $(wildcard bench/programs/*.c)))

CC       ?= cc
CFLAGS   := -O2
WASI_CC  := clang --target=wasm32-wasi
W2C_RT   := /usr/share/wabt/wasm2c

WASMS    := $(PROGRAMS:%=$(OUT)/wasm/%.wasm) $(BULK:%=$(OUT)/wasm/%-bulk.wasm) \
            $(SIMD:%=$(OUT)/wasm/%-simd.wasm) $(OUT)/wasm/sqlite.wasm $(OUT)/wasm/lua.wasm
NATIVES  := $(PROGRAMS:%=$(OUT)/native/%) $(OUT)/native/sqlite $(OUT)/native/lua
W2CS     := $(PROGRAMS:%=$(OUT)/w2c/%/run) $(BULK:%=$(OUT)/w2c/%-bulk/run) \
            $(OUT)/w2c/sqlite/run $(OUT)/w2c/lua/run

.PHONY: all
.SECONDARY:
.DELETE_ON_ERROR:

all: $(OUT)/timeit $(NATIVES) $(WASMS) $(W2CS)

$(OUT)/timeit: bench/timeit.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=c17 -Wall -Wextra $< -o $@

$(OUT)/native/%: bench/programs/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ -lm

# Compile and link in two steps, so that clang's driver does not run
# wasm-opt on the result: the module is exactly what LLVM produced.
# (wasi-libc keeps the math functions in libc.a; -lm is a harmless stub.)
$(OUT)/wasm/%.o: bench/programs/%.c
	@mkdir -p $(@D)
	$(WASI_CC) $(CFLAGS) -c $< -o $@

# -mbulk-memory: memcpy/memmove/memset calls in the program's own code
# become memory.copy / memory.fill. wasi-libc itself stays as built.
$(OUT)/wasm/%-bulk.o: bench/programs/%.c
	@mkdir -p $(@D)
	$(WASI_CC) $(CFLAGS) -mbulk-memory -c $< -o $@

# -msimd128: clang's vectorisers emit 128-bit SIMD for the loops they can.
$(OUT)/wasm/%-simd.o: bench/programs/%.c
	@mkdir -p $(@D)
	$(WASI_CC) $(CFLAGS) -msimd128 -c $< -o $@

$(OUT)/wasm/%.wasm: $(OUT)/wasm/%.o
	$(WASI_CC) $< -o $@ -lm

# wasm2c names everything after the module, so every program is "prog" and
# the one shim fits all of them.
$(OUT)/w2c/%/prog.c: $(OUT)/wasm/%.wasm
	@mkdir -p $(@D)
	wasm2c -n prog $< -o $@

$(OUT)/w2c/wasm-rt-impl.o: $(W2C_RT)/wasm-rt-impl.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(W2C_RT) -c $< -o $@

$(OUT)/w2c/%/run: $(OUT)/w2c/%/prog.c bench/w2c/wasi_shim.c $(OUT)/w2c/wasm-rt-impl.o
	$(CC) $(CFLAGS) -w -I$(@D) -I$(W2C_RT) bench/w2c/wasi_shim.c $(@D)/prog.c \
	    $(OUT)/w2c/wasm-rt-impl.o -o $@ -lm

# SQLite: one thread, temporary tables in memory, no extensions; under
# wasi-libc with its emulations of mmap, getpid and process clocks.
SQLITE      := $(OUT)/sqlite-src
SQLITE_DEFS := -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL \
               -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_TEMP_STORE=3 -I$(SQLITE)
SQLITE_WASI := -D_WASI_EMULATED_MMAN -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS

$(SQLITE)/sqlite3.c: bench/npm_fetch.sh
	bench/npm_fetch.sh better-sqlite3@12.11.1 \
	    ebf0ed75a7a59dbcb3b24bbd014ef49d9f15bc328e4adcbf516f2a8fadfa2835 $(SQLITE) \
	    deps/sqlite3/sqlite3.c deps/sqlite3/sqlite3.h

$(OUT)/native/sqlite: bench/sqlite/speedtest.c $(SQLITE)/sqlite3.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SQLITE_DEFS) bench/sqlite/speedtest.c $(SQLITE)/sqlite3.c -o $@ -lm

$(OUT)/wasm/sqlite-%.o: $(SQLITE)/sqlite3.c bench/sqlite/speedtest.c
	@mkdir -p $(@D)
	$(WASI_CC) $(CFLAGS) $(SQLITE_DEFS) $(SQLITE_WASI) -c \
	    $(if $(filter main,$*),bench/sqlite/speedtest.c,$(SQLITE)/sqlite3.c) -o $@

$(OUT)/wasm/sqlite.wasm: $(OUT)/wasm/sqlite-main.o $(OUT)/wasm/sqlite-lib.o
	$(WASI_CC) $^ -o $@ -lwasi-emulated-mman -lwasi-emulated-getpid \
	    -lwasi-emulated-process-clocks

# Lua: the core and four libraries as one unit (bench/lua/onelua.c). The
# wasm build has no setjmp (bench/lua/setjmp.h): a Lua error aborts.
LUA      := $(OUT)/lua-src
LUA_WASI := -Ibench/lua -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS \
            '-DLUAI_THROW(L,c)=abort()' '-DLUAI_TRY(L,c,a)={ a }' -Dluai_jmpbuf=int

$(LUA)/lua.h: bench/npm_fetch.sh
	bench/npm_fetch.sh lua-src@5.3.5 \
	    0190b7ed390f92b1c88a65332098ae62a701fa6797189d35e416275acbc6528b $(LUA) \
	    'src/*.c' 'src/*.h'

$(OUT)/native/lua: bench/lua/bench.c bench/lua/onelua.c $(LUA)/lua.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(LUA) bench/lua/bench.c bench/lua/onelua.c -o $@ -lm

$(OUT)/wasm/lua-%.o: bench/lua/bench.c bench/lua/onelua.c bench/lua/setjmp.h $(LUA)/lua.h
	@mkdir -p $(@D)
	$(WASI_CC) $(CFLAGS) $(LUA_WASI) -I$(LUA) -c \
	    $(if $(filter main,$*),bench/lua/bench.c,bench/lua/onelua.c) -o $@

$(OUT)/wasm/lua.wasm: $(OUT)/wasm/lua-main.o $(OUT)/wasm/lua-lib.o
	$(WASI_CC) $^ -o $@ -lwasi-emulated-signal -lwasi-emulated-process-clocks
