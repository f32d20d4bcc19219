/* dispatch: indirect calls, as in a scheduler of tasks or an object's
 * methods (richards, an interpreter's handler table): each step calls one
 * of eight small handlers through a table of function pointers, chosen by
 * the state, and the handler picks the next. Under wasm every call is a
 * call_indirect (bounds, null and signature checks). Prints the state.
 *
 * usage: dispatch [steps] (default 150000000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint32_t (*handler)(uint32_t state, uint32_t step);

static uint32_t h0(uint32_t s, uint32_t i) { return s + i; }
static uint32_t h1(uint32_t s, uint32_t i) { return s ^ (i * 2654435761u); }
static uint32_t h2(uint32_t s, uint32_t i) { return (s << 3) | (s >> 29); }
static uint32_t h3(uint32_t s, uint32_t i) { return s * 5 + 1; }
static uint32_t h4(uint32_t s, uint32_t i) { return s - (i >> 2); }
static uint32_t h5(uint32_t s, uint32_t i) { return s ^ (s >> 7); }
static uint32_t h6(uint32_t s, uint32_t i) { return s + (s << 9); }
static uint32_t h7(uint32_t s, uint32_t i) { return ~s + i; }

handler handlers[8] = { h0, h1, h2, h3, h4, h5, h6, h7 };

int main(int argc, char **argv)
{
    uint32_t steps = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 150000000u;
    uint32_t state = 1;
    for (uint32_t i = 0; i < steps; i++)
        state = handlers[(state ^ i) & 7](state, i);
    printf("dispatch(%u) = %u\n", (unsigned)steps, (unsigned)state);
    return 0;
}
