/* wasm/opcodes.c - the opcode table, built from opcodes.def. */
#include "wasm/internal.h"

const struct wm_op_info wm_op_table[WM_OP_COUNT] = {
#define OP(id, n, c, i, s, a) [WM_OP_##id] = { n, s, 0x00, c, i, a },
#define OPFC(id, n, c, i, s, a) [WM_OP_##id] = { n, s, 0xfc, c, i, a },
#define OPFD(id, n, c, i, s, a) [WM_OP_##id] = { n, s, 0xfd, c, i, a },
#define OPFE(id, n, c, i, s, a) [WM_OP_##id] = { n, s, 0xfe, c, i, a },
#include "wasm/opcodes.def"
#undef OP
#undef OPFC
#undef OPFD
#undef OPFE
};
