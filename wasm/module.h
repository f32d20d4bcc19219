/*
 * wasm/module.h - the one public header of the wasm/ part: an in-memory
 * WebAssembly 2.0 module, its binary decoder and its validator.
 *
 *   struct wm_module *m;
 *   struct wm_error err;
 *   if (dec_module(bytes, size, &m, &err) != 0 || val_module(m, &err) != 0)
 *       fprintf(stderr, "%s\n", err.msg);   // "offset 0x1a3: func 4: ..."
 *   ...
 *   wm_module_free(m);
 *
 * Ownership: dec_module copies the input bytes (dec_module_trusted reads
 * them in place); the module owns everything else
 * it points to (one arena) and wm_module_free releases it all at once.
 * Naming: wm_ types are the module model, dec_ the decoder, val_ the
 * validator, ins_ the instruction reader shared with the compiler.
 */
#ifndef AWSM_WASM_MODULE_H
#define AWSM_WASM_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ===== Limits (named, each with its own error message) ================= */

#define WM_MAX_PAGES        65536u      /* 4 GiB of 64 KiB pages */
#define WM_MAX_PAGES64      (1ull << 48) /* memory64: 2^64 bytes */
#define WM_PAGE_SIZE        65536u
#define WM_MAX_TABLE_SIZE   0xffffffffu /* spec: table limits are u32 */
#define WM_MAX_MEMORIES     100u        /* with multi-memory (Wasm 2.0: one);
                                           each is a reservation of its own */

/* ===== Types ============================================================ */

/* Value types carry their binary encoding. */
typedef uint8_t wm_valtype;
enum {
    WM_I32 = 0x7f,
    WM_I64 = 0x7e,
    WM_F32 = 0x7d,
    WM_F64 = 0x7c,
    WM_V128 = 0x7b,
    WM_FUNCREF = 0x70,
    WM_EXTERNREF = 0x6f,
};

const char *wm_valtype_name(wm_valtype t);   /* "i32", ..., "funcref" */
bool wm_valtype_is_ref(wm_valtype t);

struct wm_functype {
    uint32_t nparams, nresults;
    const wm_valtype *params;
    const wm_valtype *results;
};

struct wm_limits {
    uint64_t min, max;
    bool has_max;
    size_t offset;                /* in the file, for error messages */
};

struct wm_tabletype {
    wm_valtype elem;              /* WM_FUNCREF or WM_EXTERNREF */
    struct wm_limits limits;
};

struct wm_memtype {
    struct wm_limits limits;      /* in pages */
    bool shared;                  /* the threads proposal's shared memory */
    bool is64;                    /* memory64: i64 addresses and sizes */
};

struct wm_globaltype {
    wm_valtype type;
    bool mut;
};

enum wm_extern_kind {
    WM_EXTERN_FUNC = 0,
    WM_EXTERN_TABLE = 1,
    WM_EXTERN_MEMORY = 2,
    WM_EXTERN_GLOBAL = 3,
    WM_EXTERN_TAG = 4,          /* exception handling: a tag */
};
#define WM_EXTERN_KINDS 5

const char *wm_extern_kind_name(enum wm_extern_kind k); /* "func", ... */

/* A name: UTF-8 validated, not NUL-terminated in the binary; the decoder
 * adds a terminating NUL for convenience (names may contain NUL bytes, so
 * always use len). */
struct wm_name {
    const char *str;
    uint32_t len;
};

struct wm_import {
    size_t offset;
    struct wm_name module, name;
    enum wm_extern_kind kind;
    union {
        uint32_t func_type;                 /* type index */
        struct wm_tabletype table;
        struct wm_memtype memory;
        struct wm_globaltype global;
        uint32_t tag_type;                  /* type index (empty results) */
    } u;
};

struct wm_export {
    size_t offset;
    struct wm_name name;
    enum wm_extern_kind kind;
    uint32_t index;
};

/* A constant expression: the raw bytes (ending with 0x0b `end`) plus, for
 * the single-instruction forms of Wasm 2.0, the decoded instruction.
 * WM_CONST_EXPR: several instructions (the extended-const proposal's
 * i32/i64 add, sub and mul), evaluated from the bytes. */
enum wm_const_op {
    WM_CONST_I32, WM_CONST_I64, WM_CONST_F32, WM_CONST_F64, WM_CONST_V128,
    WM_CONST_REF_NULL, WM_CONST_REF_FUNC, WM_CONST_GLOBAL_GET, WM_CONST_EXPR,
};

struct wm_constexpr {
    enum wm_const_op op;
    union {
        uint32_t i32;
        uint64_t i64;
        uint32_t f32_bits;
        uint64_t f64_bits;
        uint8_t v128[16];
        wm_valtype ref_type;    /* ref.null */
        uint32_t index;         /* ref.func, global.get */
    } u;
    size_t offset;              /* byte offset of the expression */
    const uint8_t *code;
    size_t len;
};

struct wm_global {
    struct wm_globaltype type;
    struct wm_constexpr init;
};

enum wm_seg_mode {
    WM_SEG_ACTIVE,
    WM_SEG_PASSIVE,
    WM_SEG_DECLARATIVE,     /* element segments only */
};

struct wm_elem {
    enum wm_seg_mode mode;
    uint32_t table;                 /* active only */
    struct wm_constexpr offset;     /* active only */
    wm_valtype type;                /* WM_FUNCREF or WM_EXTERNREF */
    uint32_t count;
    struct wm_constexpr *inits;     /* count init expressions; the
                                       function-index encodings are
                                       decoded as ref.func */
    size_t offset_in_file;
};

struct wm_data {
    enum wm_seg_mode mode;
    uint32_t memory;
    struct wm_constexpr offset;
    const uint8_t *bytes;
    uint32_t len;
    size_t offset_in_file;
};

struct wm_local_group {
    uint32_t count;
    wm_valtype type;
};

struct wm_func {
    uint32_t type;                  /* type index */
    uint32_t nlocal_groups;
    struct wm_local_group *local_groups;
    uint32_t nlocals;               /* declared locals, params excluded */
    const uint8_t *code;            /* instructions, ending with `end` */
    size_t code_len;
    size_t code_offset;             /* file offset of code[0] */
    size_t body_offset;             /* file offset of the body's size */
};

struct wm_custom {
    struct wm_name name;
    const uint8_t *bytes;
    size_t len;
    size_t offset;
};

/* The "name" custom section, decoded leniently: a malformed name section
 * is ignored (as the spec recommends), never an error. */
struct wm_names {
    struct wm_name module;          /* len 0 when absent */
    uint32_t nfuncs;                /* entries in funcs, by function index */
    struct wm_name *funcs;          /* str NULL when unnamed */
};

struct wm_module {
    uint32_t ntypes;
    struct wm_functype *types;

    uint32_t nimports;
    struct wm_import *imports;
    /* Imported entities come first in each index space. */
    uint32_t nfunc_imports, ntable_imports, nmemory_imports, nglobal_imports;
    uint32_t ntag_imports;
    /* The imports of each kind (enum wm_extern_kind) in index order. */
    const struct wm_import **imports_of[WM_EXTERN_KINDS];

    uint32_t nfuncs;                /* defined functions */
    struct wm_func *funcs;

    uint32_t ntables;               /* defined tables */
    struct wm_tabletype *tables;

    uint32_t nmemories;             /* defined memories */
    struct wm_memtype *memories;

    uint32_t nglobals;              /* defined globals */
    struct wm_global *globals;

    uint32_t ntags;                 /* defined tags (exception handling: */
    uint32_t *tags;                 /* the tag section), their type indices;
                                       non-NULL when the section is there,
                                       even empty (the validator tells) */

    uint32_t nexports;
    struct wm_export *exports;

    bool has_start;
    uint32_t start;
    size_t start_offset;

    uint32_t nelems;
    struct wm_elem *elems;

    bool has_data_count;
    uint32_t data_count;

    uint32_t ndatas;
    struct wm_data *datas;

    uint32_t ncustoms;
    struct wm_custom *customs;

    struct wm_names names;

    const uint8_t *bytes;           /* the module's own copy of the input
                                       (dec_module_trusted: the input) */
    size_t size;

    struct wm_arena *arena;         /* owns everything above (but a
                                       trusted module's bytes) */
};

/* Whole index spaces (imports first, then definitions). */
uint32_t wm_func_count(const struct wm_module *m);
uint32_t wm_table_count(const struct wm_module *m);
uint32_t wm_memory_count(const struct wm_module *m);
uint32_t wm_global_count(const struct wm_module *m);
uint32_t wm_tag_count(const struct wm_module *m);

/* Look-ups in the whole index spaces; the index must be in range. */
const struct wm_functype *wm_func_type(const struct wm_module *m, uint32_t f);
/* Equal params and results: what makes two function types one (their
 * canonical ids at run time, runtime/types.c). */
bool wm_functype_equal(const struct wm_functype *a, const struct wm_functype *b);
uint32_t wm_func_type_index(const struct wm_module *m, uint32_t f);
const struct wm_tabletype *wm_table_type(const struct wm_module *m, uint32_t t);
const struct wm_memtype *wm_memory_type(const struct wm_module *m, uint32_t i);
const struct wm_globaltype *wm_global_type(const struct wm_module *m, uint32_t g);
/* A tag's type index and type (its params are the exception's values). */
uint32_t wm_tag_type_index(const struct wm_module *m, uint32_t t);
const struct wm_functype *wm_tag_type(const struct wm_module *m, uint32_t t);

/* Function name from the name section, or NULL. */
const char *wm_func_name(const struct wm_module *m, uint32_t f);

void wm_module_free(struct wm_module *m);

/* One line describing the module: counts of functions, imports, exports,
 * memory and table sizes. Returns what snprintf returns. */
int wm_module_summary(const struct wm_module *m, char *buf, size_t size);

/* ===== Errors =========================================================== */

enum wm_error_kind {
    WM_ERR_NONE = 0,
    WM_ERR_MALFORMED,       /* the binary does not decode (spec: malformed) */
    WM_ERR_INVALID,         /* decodes but does not validate */
    WM_ERR_LIMIT,           /* exceeds an implementation limit */
    WM_ERR_NOMEM,           /* out of memory */
};

struct wm_error {
    enum wm_error_kind kind;
    size_t offset;          /* byte offset in the module */
    int64_t func;           /* function index, or -1 */
    char msg[320];          /* "offset 0x1a3: func 4: i32.add expects ..." */
};

/* ===== Decoder and validator ============================================ */

/* Decode a binary module. Returns 0 and sets *out, or -1 and fills *err
 * (kind WM_ERR_MALFORMED for a binary that does not follow the format).
 * Never reads outside [bytes, bytes+size). Function bodies are checked for
 * well-formedness here (opcodes, immediates, LEB128, block structure); their
 * typing is the validator's. */
int dec_module(const uint8_t *bytes, size_t size, struct wm_module **out,
               struct wm_error *err);

/* Decode a module that was decoded and validated before and cannot have
 * changed since: the metadata a compiled .so carries (wm_metadata), which
 * the runtime checks against the SHA-256 the compiler recorded. As
 * dec_module, but function bodies are not read (each wm_func's code and
 * code_len span its instructions, unchecked), the code section may be
 * missing (then they are NULL and 0), and the result needs no val_module.
 * Nor are the bytes copied: they must stay valid and unchanged until
 * wm_module_free (a .so's embedded metadata does, until its dlclose). */
int dec_module_trusted(const uint8_t *bytes, size_t size, struct wm_module **out,
                       struct wm_error *err);

/* What a compiled module needs of its wasm at run time: m's bytes without
 * the code section (its functions are native code now) and without the
 * custom sections other than "name" (debug information and the like,
 * often most of a module built with -g), for dec_module_trusted. Loading
 * a compiled module then costs the size of its types, imports, exports,
 * segments and names, not of its code. A malloc'd copy of *size bytes, or
 * NULL when out of memory (or when m's bytes are not those it was decoded
 * from). */
uint8_t *wm_metadata(const struct wm_module *m, size_t *size);

/* Proposals past Wasm 2.0 that validation accepts only when asked: a
 * module using one without it is invalid, as the 2.0 spec suite expects.
 * (Relaxed SIMD is always on: it adds opcodes, no 2.0 test rejects them.) */
enum wm_feature {
    WM_FEATURE_EXTENDED_CONST = 1u << 0,    /* i32/i64 add, sub, mul in
                                               constant expressions */
    WM_FEATURE_TAIL_CALL = 1u << 1,         /* return_call,
                                               return_call_indirect */
    WM_FEATURE_RELAXED_SIMD = 1u << 2,      /* always on: part of Wasm 3.0,
                                               as in Wasmtime and V8; the
                                               name is accepted for
                                               wast2json's sake */
    WM_FEATURE_THREADS = 1u << 3,           /* shared memories, the 0xfe
                                               atomic instructions */
    WM_FEATURE_MULTI_MEMORY = 1u << 4,      /* several memories, a memory
                                               index on every instruction */
    WM_FEATURE_MEMORY64 = 1u << 5,          /* memories with i64 addresses */
    WM_FEATURE_EXCEPTIONS = 1u << 6,        /* the legacy exception-handling
                                               proposal: tags, try, catch,
                                               catch_all, delegate, throw,
                                               rethrow */
};
#define WM_FEATURES_DEFAULT WM_FEATURE_RELAXED_SIMD
#define WM_FEATURES_ALL (WM_FEATURE_EXTENDED_CONST | WM_FEATURE_TAIL_CALL | \
                         WM_FEATURE_RELAXED_SIMD | WM_FEATURE_THREADS | \
                         WM_FEATURE_MULTI_MEMORY | WM_FEATURE_MEMORY64 | \
                         WM_FEATURE_EXCEPTIONS)

/* The feature's name as on the command line ("extended-const"), or NULL;
 * and back (0 for an unknown name). */
const char *wm_feature_name(unsigned feature);
unsigned wm_feature_parse(const char *name);
/* A command-line argument "--enable-NAME" (wast2json's form) or
 * "--enable=NAME[,NAME...]" of known NAMEs: adds their features to
 * *features and returns true; anything else (an unknown name among them
 * too): false, *features unchanged. */
bool wm_feature_option(const char *arg, unsigned *features);

/* Validate a decoded module as the spec does, with the proposals of
 * `features` (WM_FEATURE_*). Returns 0, or -1 and fills *err (kind
 * WM_ERR_INVALID). val_module: WM_FEATURES_DEFAULT. */
int val_module_features(const struct wm_module *m, unsigned features,
                        struct wm_error *err);
int val_module(const struct wm_module *m, struct wm_error *err);

/* Read a whole file into a malloc'd buffer. Returns 0, or an errno value
 * (the caller frees *out). */
int wm_read_file(const char *path, uint8_t **out, size_t *size);

/* Both, as `awsm validate` does. */
int wm_load(const uint8_t *bytes, size_t size, struct wm_module **out,
            struct wm_error *err);
int wm_load_features(const uint8_t *bytes, size_t size, unsigned features,
                     struct wm_module **out, struct wm_error *err);

#endif
