/*
 * tests/unit/test_validate.c - unit tests of the validator (val_module,
 * through wm_load): one case per test, each named for what it proves.
 * Function-body errors are checked at the exact offset of the offending
 * instruction, with the function index counted across imports.
 */
#include "wasm/module.h"
#include "test.h"

/* Build and load (decode + validate) a module; the module is freed. */
static int load_mod_features(struct wmod *w, unsigned features, struct wm_error *err)
{
    struct wbuf b;
    struct wm_module *m = (struct wm_module *)&m;       /* not NULL */
    mod_build(w, &b);
    int rc = wm_load_features(b.p, b.len, features, &m, err);
    wb_free(&b);
    if (rc == 0)
        wm_module_free(m);
    else if (m != NULL)
        return -2;                      /* a failed load must not leave one */
    return rc;
}

static int load_mod(struct wmod *w, struct wm_error *err)
{
    return load_mod_features(w, WM_FEATURES_DEFAULT, err);
}

/* One function of type `t`, no locals, the given instructions. */
static int load_body(struct wmod *w, uint32_t t, const uint8_t *body, size_t n,
                     struct wm_error *err)
{
    mod_func(w, t, "", body, n);
    return load_mod(w, err);
}

/* A validation failure (the module decoded) at `off` in function `func`
 * (-1: none), with the message naming both and saying `text`. */
#define ASSERT_INVALID(rc_, err_, off_, func_, text_)                    \
    do {                                                                  \
        char want_[96];                                                   \
        ASSERT_EQ_INT(-1, (rc_));                                         \
        ASSERT_EQ_INT(WM_ERR_INVALID, (err_).kind);                       \
        ASSERT_EQ_INT((off_), (err_).offset);                             \
        ASSERT_EQ_INT((func_), (err_).func);                              \
        if ((func_) >= 0)                                                 \
            snprintf(want_, sizeof want_, "offset 0x%zx: func %lld: ",    \
                     (size_t)(off_), (long long)(func_));                 \
        else                                                              \
            snprintf(want_, sizeof want_, "offset 0x%zx: ",               \
                     (size_t)(off_));                                     \
        ASSERT(strncmp((err_).msg, want_, strlen(want_)) == 0);           \
        ASSERT_STR_CONTAINS((err_).msg, (text_));                         \
    } while (0)

/* A module-level validation failure: the offset is not checked. */
#define ASSERT_INVALID_MODULE(rc_, err_, text_)                           \
    do {                                                                  \
        ASSERT_EQ_INT(-1, (rc_));                                         \
        ASSERT_EQ_INT(WM_ERR_INVALID, (err_).kind);                       \
        ASSERT_EQ_INT(-1, (err_).func);                                   \
        ASSERT_STR_CONTAINS((err_).msg, (text_));                         \
    } while (0)

#define F64_ZERO W_F64_CONST, 0, 0, 0, 0, 0, 0, 0, 0

/* ===== Operand stack ==================================================== */

TEST(i32_add_of_f64_reports_types_function_and_opcode_offset)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(F64_ZERO,               /* 0: f64.const 0 */
                            W_I32_CONST, 1,         /* 9: i32.const 1 */
                            W_I32_ADD,              /* 11 */
                            W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 11, 0, "i32.add expects i32 but found f64");
    char want[96];
    snprintf(want, sizeof want, "offset 0x%zx: func 0: i32.add expects i32 "
             "but found f64", w.code_at[0] + 11);
    ASSERT_STR_EQ(want, err.msg);
}

TEST(error_in_later_function_counts_imported_functions)
{
    struct wmod w = { 0 };
    struct wm_error err;
    uint32_t t = mod_type(&w, "", "");
    mod_import_func(&w, "env", "f", t);                         /* func 0 */
    mod_func(&w, t, "", CODE(W_NOP, W_END));                    /* func 1 */
    int rc = load_body(&w, t, CODE(W_NOP, F64_ZERO, W_I32_CONST, 1, W_I32_ADD,
                                   W_DROP, W_END), &err);       /* func 2 */
    ASSERT_INVALID(rc, err, w.code_at[1] + 12, 2, "i32.add expects i32 but found f64");
}

TEST(pop_from_empty_stack_names_the_instruction)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_ADD, W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0], 0, "i32.add expects i32 but the stack is empty");
}

TEST(pop_does_not_reach_into_the_enclosing_block)
{
    /* The i32 outside the block is not an operand inside it. */
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 1,                 /* 0 */
                            W_BLOCK, W_EMPTY,               /* 2 */
                            W_DROP,                         /* 4 */
                            W_END, W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 4, 0, "drop expects a value but the stack is empty");
}

TEST(unreachable_makes_the_stack_polymorphic)
{
    struct wmod w = { 0 };
    struct wm_error err;
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", ""),
                               CODE(W_UNREACHABLE, W_I32_ADD, W_DROP, W_END), &err));
}

TEST(polymorphic_stack_still_checks_known_operands)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_UNREACHABLE,          /* 0 */
                            F64_ZERO,               /* 1 */
                            W_I32_ADD,              /* 10 */
                            W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 10, 0, "i32.add expects i32 but found f64");
}

TEST(values_left_at_function_end_are_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 1, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "end leaves 1 more value(s)");
}

TEST(missing_block_result_is_invalid_at_its_end)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_BLOCK, WM_I32, W_END, W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "end expects i32 but the stack is empty");
}

TEST(function_result_is_checked_at_final_end)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", "l"),
                       CODE(W_I32_CONST, 7, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "end expects i64 but found i32");
}

/* ===== Control instructions ============================================= */

TEST(br_to_unknown_label_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_BLOCK, W_EMPTY, W_BR, 2, W_END, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "unknown label 2");
}

TEST(br_to_the_function_label_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", "i"),
                               CODE(W_BLOCK, W_EMPTY, W_I32_CONST, 3, W_BR, 1,
                                    W_END, W_I32_CONST, 4, W_END), &err));
}

TEST(br_table_targets_of_different_arity_are_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_BLOCK, WM_I32,        /* 0: label 1, [i32] */
                            W_BLOCK, W_EMPTY,       /* 2: label 0, [] */
                            W_I32_CONST, 0,         /* 4 */
                            W_BR_TABLE, 1, 0, 1,    /* 6: [0] default 1 */
                            W_END,
                            W_I32_CONST, 0,
                            W_END, W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 6, 0, "br_table targets have 0 and 1 values");
}

TEST(br_table_targets_of_same_arity_are_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", ""),
                               CODE(W_BLOCK, W_EMPTY, W_BLOCK, W_EMPTY,
                                    W_I32_CONST, 0, W_BR_TABLE, 2, 0, 1, 0,
                                    W_END, W_END, W_END), &err));
}

TEST(if_without_else_must_not_produce_a_result)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 1,         /* 0 */
                            W_IF, WM_I32,           /* 2: [] -> [i32] */
                            W_I32_CONST, 2,         /* 4 */
                            W_END,                  /* 6 */
                            W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 6, 0,
                   "if without else must leave its parameters as results");
}

TEST(if_without_else_with_params_other_than_results_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    uint32_t t = mod_type(&w, "", "");
    uint32_t it = mod_type(&w, "i", "l");
    (void)it;
    int rc = load_body(&w, t,
                       CODE(W_I32_CONST, 5,         /* 0: the parameter */
                            W_I32_CONST, 1,         /* 2: the condition */
                            W_IF, 1,                /* 4: type 1: [i32] -> [i64] */
                            W_I64_EXTEND_I32_S,     /* 6 */
                            W_END,                  /* 7 */
                            W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 7, 0,
                   "if without else must leave its parameters as results");
}

TEST(if_without_else_with_params_equal_to_results_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    uint32_t t = mod_type(&w, "", "");
    mod_type(&w, "i", "i");
    ASSERT_EQ_INT(0, load_body(&w, t,
                               CODE(W_I32_CONST, 5, W_I32_CONST, 1,
                                    W_IF, 1,        /* type 1: [i32] -> [i32] */
                                    W_I32_CONST, 1, W_I32_ADD,
                                    W_END, W_DROP, W_END), &err));
}

TEST(if_condition_must_be_i32)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I64_CONST, 1, W_IF, W_EMPTY, W_END, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "if expects i32 but found i64");
}

TEST(block_type_index_out_of_range_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_BLOCK, 5, W_END, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0], 0, "unknown type 5");
}

TEST(call_checks_argument_types)
{
    struct wmod w = { 0 };
    struct wm_error err;
    uint32_t callee = mod_func(&w, mod_type(&w, "i", ""), "", CODE(W_END));
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_F32_CONST, 0, 0, 0, 0,    /* 0 */
                            W_CALL, (uint8_t)callee,    /* 5 */
                            W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[1] + 5, 1, "call expects i32 but found f32");
}

TEST(call_of_unknown_function_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""), CODE(W_CALL, 9, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0], 0, "unknown function 9");
}

/* ===== Parametric instructions ========================================== */

TEST(select_without_type_rejects_reference_operands)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_REF_NULL, WM_FUNCREF,     /* 0 */
                            W_REF_NULL, WM_FUNCREF,     /* 2 */
                            W_I32_CONST, 1,             /* 4 */
                            W_SELECT,                   /* 6 */
                            W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 6, 0,
                   "select without a type needs numeric or vector operands");
}

TEST(select_with_type_accepts_reference_operands)
{
    struct wmod w = { 0 };
    struct wm_error err;
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", ""),
                               CODE(W_REF_NULL, WM_FUNCREF, W_REF_NULL, WM_FUNCREF,
                                    W_I32_CONST, 1, W_SELECT_T, 1, WM_FUNCREF,
                                    W_DROP, W_END), &err));
}

TEST(select_operands_of_different_types_are_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 1, W_I64_CONST, 1, W_I32_CONST, 1,
                            W_SELECT,                   /* 6 */
                            W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 6, 0, "select operands i32 and i64 differ");
}

/* ===== Variables ======================================================== */

TEST(locals_follow_params_in_one_index_space)
{
    /* local 0 is the i32 parameter, local 1 the declared i64. */
    struct wmod w = { 0 };
    struct wm_error err;
    mod_func(&w, mod_type(&w, "i", ""), "l",
             CODE(W_LOCAL_GET, 0, W_I32_CONST, 1, W_I32_ADD, W_DROP,
                  W_LOCAL_GET, 1, W_I64_CONST, 1, W_I64_ADD, W_DROP, W_END));
    ASSERT_EQ_INT(0, load_mod(&w, &err));
}

TEST(declared_local_has_its_declared_type)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_func(&w, mod_type(&w, "i", ""), "l",
             CODE(W_LOCAL_GET, 1, W_I32_CONST, 1,
                  W_I32_ADD,                    /* 4 */
                  W_DROP, W_END));
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 4, 0, "i32.add expects i32 but found i64");
}

TEST(local_index_past_params_and_locals_is_unknown)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_func(&w, mod_type(&w, "i", ""), "l",
             CODE(W_NOP, W_LOCAL_GET, 2, W_DROP, W_END));
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 1, 0, "unknown local 2");
}

TEST(global_set_of_immutable_global_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'i', false, CODE(W_I32_CONST, 0, W_END));
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 1, W_GLOBAL_SET, 0, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "global is immutable");
}

TEST(global_set_of_mutable_global_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'i', true, CODE(W_I32_CONST, 0, W_END));
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", ""),
                               CODE(W_I32_CONST, 1, W_GLOBAL_SET, 0, W_END), &err));
}

TEST(global_set_checks_the_value_type)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'l', true, CODE(W_I64_CONST, 0, W_END));
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 1, W_GLOBAL_SET, 0, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "global.set expects i64 but found i32");
}

/* ===== Tables and references ============================================ */

TEST(call_indirect_through_externref_table_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_table(&w, 'X', 1, -1);
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 0, W_CALL_INDIRECT, 0, 0, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "call_indirect on table 0 of externref");
}

TEST(call_indirect_through_funcref_table_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_table(&w, 'F', 1, -1);
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", ""),
                               CODE(W_I32_CONST, 0, W_CALL_INDIRECT, 0, 0, W_END),
                               &err));
}

TEST(call_indirect_without_table_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 0, W_CALL_INDIRECT, 0, 0, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "unknown table 0");
}

TEST(ref_func_of_undeclared_function_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_NOP, W_REF_FUNC, 0, W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 1, 0, "undeclared function reference 0");
}

TEST(ref_func_declared_by_elem_segment_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    EMIT(mod_item(&w, SEC_ELEMENT), 0x03, 0x00, 0x01, 0x00);  /* declare func 0 */
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", ""),
                               CODE(W_REF_FUNC, 0, W_DROP, W_END), &err));
}

TEST(ref_func_declared_by_export_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_export(&w, "f", WM_EXTERN_FUNC, 0);
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", ""),
                               CODE(W_REF_FUNC, 0, W_DROP, W_END), &err));
}

TEST(ref_func_declared_by_global_init_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'F', false, CODE(W_REF_FUNC, 0, W_END));
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", ""),
                               CODE(W_REF_FUNC, 0, W_DROP, W_END), &err));
}

TEST(elem_segment_type_must_match_its_table)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_table(&w, 'X', 1, -1);
    /* encoding 0: active on table 0, funcref function indices */
    EMIT(mod_item(&w, SEC_ELEMENT), 0x00, W_I32_CONST, 0, W_END, 0x01, 0x00);
    int rc = load_body(&w, mod_type(&w, "", ""), CODE(W_END), &err);
    ASSERT_INVALID(rc, err, w.section_at[SEC_ELEMENT] + 3, -1,
                   "elem segment 0 of funcref for table 0 of externref");
}

/* ===== Constant expressions ============================================= */

/* Offset of the first global's init expression: id, size, count, type,
 * mutability. */
#define GLOBAL_INIT_AT(w) ((w).section_at[SEC_GLOBAL] + 5)

TEST(const_expr_global_get_of_mutable_import_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_import_global(&w, "env", "g", 'i', true);
    mod_global(&w, 'i', false, CODE(W_GLOBAL_GET, 0, W_END));
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, GLOBAL_INIT_AT(w), -1,
                   "constant expression required: global 0 is mutable");
}

TEST(const_expr_global_get_of_immutable_import_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_import_global(&w, "env", "g", 'i', false);
    mod_global(&w, 'i', false, CODE(W_GLOBAL_GET, 0, W_END));
    ASSERT_EQ_INT(0, load_mod(&w, &err));
}

TEST(const_expr_global_get_of_defined_global_is_invalid)
{
    /* Wasm 2.0: constant expressions see only imported globals. */
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'i', false, CODE(W_I32_CONST, 0, W_END));
    mod_global(&w, 'i', false, CODE(W_GLOBAL_GET, 0, W_END));
    int rc = load_mod(&w, &err);
    /* The second init follows the first (3 bytes), a type and a flag. */
    ASSERT_INVALID(rc, err, GLOBAL_INIT_AT(w) + 5, -1,
                   "unknown global 0 in a constant expression");
}

TEST(const_expr_with_non_constant_instruction_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'i', false, CODE(W_I32_CONST, 1,
                                    0x45,           /* 2: i32.eqz */
                                    W_END));
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, GLOBAL_INIT_AT(w) + 2, -1,
                   "constant expression required: i32.eqz is not constant");
}

TEST(const_expr_with_extended_const_arithmetic_names_the_proposal)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'i', false, CODE(W_I32_CONST, 1, W_I32_CONST, 2,
                                    W_I32_ADD,      /* 4 */
                                    W_END));
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, GLOBAL_INIT_AT(w) + 4, -1,
                   "i32.add: the extended-const proposal is not enabled "
                   "(--enable-extended-const)");
}

TEST(return_call_needs_the_tail_call_feature_and_the_same_results)
{
    struct wmod w = { 0 };
    struct wm_error err;
    uint32_t t = mod_type(&w, "i", "i");
    /* func 0: (param i32) (result i32) return_call 0 */
    mod_func(&w, t, "", CODE(0x20, 0, 0x12, 0x00, W_END));
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "return_call: the tail-call "
                   "proposal is not enabled (--enable-tail-call)");
    struct wmod w1 = { 0 };
    mod_func(&w1, mod_type(&w1, "i", "i"), "", CODE(0x20, 0, 0x12, 0x00, W_END));
    rc = load_mod_features(&w1, WM_FEATURE_TAIL_CALL, &err);
    ASSERT_EQ_INT(0, rc);
    /* a callee with other results: invalid even with the feature */
    struct wmod w2 = { 0 };
    uint32_t ti = mod_type(&w2, "", "i"), tl = mod_type(&w2, "", "l");
    mod_func(&w2, tl, "", CODE(0x42, 1, W_END));
    mod_func(&w2, ti, "", CODE(0x12, 0x00, W_END));
    rc = load_mod_features(&w2, WM_FEATURE_TAIL_CALL, &err);
    ASSERT_INVALID(rc, err, w2.code_at[1], 1, "type mismatch: return_call: the "
                   "callee's results are not the function's");
}

TEST(const_expr_with_extended_const_is_valid_when_enabled)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'l', false, CODE(W_I64_CONST, 1, W_I64_CONST, 2, W_I64_MUL,
                                    W_I64_CONST, 3, W_I64_SUB, W_END));
    ASSERT_EQ_INT(0, load_mod_features(&w, WM_FEATURE_EXTENDED_CONST, &err));
    /* still typed: an i32 operand of i64.add */
    struct wmod w2 = { 0 };
    mod_global(&w2, 'l', false, CODE(W_I64_CONST, 1, W_I32_CONST, 2, W_I64_ADD,
                                     W_END));
    ASSERT_EQ_INT(-1, load_mod_features(&w2, WM_FEATURE_EXTENDED_CONST, &err));
    ASSERT_STR_CONTAINS(err.msg, "i64.add expects i64 but found i32");
}

TEST(const_expr_of_wrong_type_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'i', false, CODE(W_I64_CONST, 0, W_END));
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, GLOBAL_INIT_AT(w), -1,
                   "type mismatch: constant expression must produce one i32");
}

TEST(empty_const_expr_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'f', false, CODE(W_END));
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, GLOBAL_INIT_AT(w), -1, "found 0 value(s)");
}

TEST(const_expr_with_two_values_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_global(&w, 'i', false, CODE(W_I32_CONST, 0, W_I32_CONST, 0, W_END));
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, GLOBAL_INIT_AT(w), -1, "found 2 value(s)");
}

TEST(data_offset_must_be_i32)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_memory(&w, 1, -1);
    EMIT(mod_item(&w, SEC_DATA), 0x00, W_I64_CONST, 0, W_END, 0x00);
    int rc = load_mod(&w, &err);
    /* The offset expression follows the segment's flags byte. */
    ASSERT_INVALID(rc, err, w.section_at[SEC_DATA] + 4, -1,
                   "constant expression must produce one i32");
}

/* ===== Memories ========================================================= */

TEST(alignment_larger_than_natural_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_memory(&w, 1, -1);
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 0,
                            W_I32_LOAD, 3, 0,       /* 2: align 2^3 > 4 bytes */
                            W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0,
                   "alignment must not be larger than natural");
}

TEST(natural_alignment_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_memory(&w, 1, -1);
    ASSERT_EQ_INT(0, load_body(&w, mod_type(&w, "", ""),
                               CODE(W_I32_CONST, 0, W_I32_LOAD, 2, 0, W_DROP, W_END),
                               &err));
}

TEST(load_without_memory_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    int rc = load_body(&w, mod_type(&w, "", ""),
                       CODE(W_I32_CONST, 0, W_I32_LOAD, 2, 0, W_DROP, W_END), &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2, 0, "unknown memory 0");
}

TEST(two_defined_memories_are_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_memory(&w, 1, -1);
    mod_memory(&w, 1, -1);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "multiple memories");
}

TEST(imported_and_defined_memory_are_multiple_memories)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_import_memory(&w, "env", "mem", 1);
    mod_memory(&w, 1, -1);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "multiple memories");
}

TEST(memory_min_above_65536_pages_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_memory(&w, 65537, -1);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "memory size must be at most 65536 pages");
}

TEST(memory_max_above_65536_pages_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_memory(&w, 0, 65537);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "memory size must be at most 65536 pages");
}

TEST(memory_of_exactly_65536_pages_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_memory(&w, 65536, 65536);
    ASSERT_EQ_INT(0, load_mod(&w, &err));
}

TEST(imported_memory_limits_are_checked_too)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_import_memory(&w, "env", "mem", 65537);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "memory size must be at most 65536 pages");
}

/* ===== Tables =========================================================== */

TEST(table_min_above_max_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_table(&w, 'F', 2, 1);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "size minimum must not be greater than maximum");
}

TEST(table_min_equal_to_max_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_table(&w, 'F', 2, 2);
    ASSERT_EQ_INT(0, load_mod(&w, &err));
}

/* ===== Start and exports ================================================ */

TEST(start_function_with_params_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_func(&w, mod_type(&w, "i", ""), "", CODE(W_END));
    mod_start(&w, 0);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "start function 0 must have type [] -> []");
}

TEST(start_function_with_results_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_func(&w, mod_type(&w, "", "i"), "", CODE(W_I32_CONST, 0, W_END));
    mod_start(&w, 0);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "start function 0 must have type [] -> []");
}

TEST(start_function_of_type_empty_is_valid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_func(&w, mod_type(&w, "", ""), "", CODE(W_END));
    mod_start(&w, 0);
    ASSERT_EQ_INT(0, load_mod(&w, &err));
}

TEST(unknown_start_function_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_start(&w, 0);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "unknown function 0 as start function");
}

TEST(duplicate_export_names_are_invalid_across_kinds)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_memory(&w, 1, -1);
    mod_func(&w, mod_type(&w, "", ""), "", CODE(W_END));
    mod_export(&w, "x", WM_EXTERN_FUNC, 0);
    mod_export(&w, "f", WM_EXTERN_FUNC, 0);
    mod_export(&w, "f", WM_EXTERN_MEMORY, 0);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "duplicate export name \"f\"");
}

TEST(export_names_differing_after_a_nul_byte_are_distinct)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_func(&w, mod_type(&w, "", ""), "", CODE(W_END));
    const char *names[] = { "a", "a\0", "a\0b", "a\0c" };
    const size_t lens[] = { 1, 2, 3, 3 };
    for (int i = 0; i < 4; i++) {
        struct wbuf *b = mod_item(&w, SEC_EXPORT);
        wb_name_n(b, names[i], lens[i]);
        EMIT(b, WM_EXTERN_FUNC, 0);
    }
    ASSERT_EQ_INT(0, load_mod(&w, &err));
}

TEST(export_of_unknown_index_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_func(&w, mod_type(&w, "", ""), "", CODE(W_END));
    mod_export(&w, "f", WM_EXTERN_FUNC, 5);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "unknown func 5 in export \"f\"");
}

TEST(export_of_unknown_global_is_invalid)
{
    struct wmod w = { 0 };
    struct wm_error err;
    mod_import_global(&w, "env", "g", 'i', false);
    mod_export(&w, "g", WM_EXTERN_GLOBAL, 1);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID_MODULE(rc, err, "unknown global 1 in export \"g\"");
}

/* ===== Deep nesting ===================================================== */

#define DEEP 20000

/* DEEP nested `block`s (type [] -> []), `inner` at the centre, closed. */
static size_t deep_body(uint8_t *code, const uint8_t *inner, size_t n)
{
    size_t len = 0;
    for (int i = 0; i < DEEP; i++) {
        code[len++] = W_BLOCK;
        code[len++] = W_EMPTY;
    }
    memcpy(code + len, inner, n);
    len += n;
    for (int i = 0; i < DEEP; i++)
        code[len++] = W_END;
    code[len++] = W_END;
    return len;
}

TEST(twenty_thousand_nested_blocks_validate)
{
    struct wmod w = { 0 };
    struct wm_error err;
    uint8_t *code = malloc(3 * DEEP + 16);
    ASSERT(code != NULL);
    size_t len = deep_body(code, CODE(W_NOP));
    mod_func(&w, mod_type(&w, "", ""), "", code, len);
    free(code);
    ASSERT_EQ_INT(0, load_mod(&w, &err));
}

TEST(error_under_twenty_thousand_blocks_is_found_at_its_offset)
{
    struct wmod w = { 0 };
    struct wm_error err;
    uint8_t *code = malloc(3 * DEEP + 16);
    ASSERT(code != NULL);
    size_t len = deep_body(code, CODE(W_I64_CONST, 0, W_I32_CONST, 0, W_I32_ADD, W_DROP));
    mod_func(&w, mod_type(&w, "", ""), "", code, len);
    free(code);
    int rc = load_mod(&w, &err);
    ASSERT_INVALID(rc, err, w.code_at[0] + 2 * DEEP + 4, 0,
                   "i32.add expects i32 but found i64");
}

TEST(br_out_of_twenty_thousand_blocks_reaches_the_outermost)
{
    /* br DEEP targets the function label from the innermost block. */
    struct wmod w = { 0 };
    struct wm_error err;
    uint8_t *code = malloc(3 * DEEP + 16);
    ASSERT(code != NULL);
    struct wbuf inner = { 0 };
    wb_byte(&inner, W_BR);
    wb_u32(&inner, DEEP);
    size_t len = deep_body(code, inner.p, inner.len);
    wb_free(&inner);
    mod_func(&w, mod_type(&w, "", ""), "", code, len);
    free(code);
    ASSERT_EQ_INT(0, load_mod(&w, &err));
}

/* ===== wm_load ========================================================== */

TEST(wm_load_reports_decode_errors_as_malformed)
{
    static const uint8_t bin[] = { 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                                   0x0d, 0x00 };
    struct wm_module *m = (struct wm_module *)&m;
    struct wm_error err;
    ASSERT_EQ_INT(-1, wm_load(bin, sizeof bin, &m, &err));
    ASSERT(m == NULL);
    ASSERT_EQ_INT(WM_ERR_MALFORMED, err.kind);
}

TEST(wm_load_clears_out_when_validation_fails)
{
    struct wmod w = { 0 };
    struct wm_error err;
    struct wbuf b;
    struct wm_module *m = (struct wm_module *)&m;
    mod_func(&w, mod_type(&w, "", ""), "", CODE(W_I32_ADD, W_END));
    mod_build(&w, &b);
    int rc = wm_load(b.p, b.len, &m, &err);
    wb_free(&b);
    ASSERT_EQ_INT(-1, rc);
    ASSERT(m == NULL);
    ASSERT_EQ_INT(WM_ERR_INVALID, err.kind);
}

TEST(wm_load_of_valid_module_reports_no_error)
{
    struct wmod w = { 0 };
    struct wm_error err = { .kind = WM_ERR_INVALID };
    struct wbuf b;
    struct wm_module *m;
    mod_func(&w, mod_type(&w, "ii", "i"), "",
             CODE(W_LOCAL_GET, 0, W_LOCAL_GET, 1, W_I32_ADD, W_END));
    mod_build(&w, &b);
    int rc = wm_load(b.p, b.len, &m, &err);
    wb_free(&b);
    ASSERT_EQ_INT(0, rc);
    ASSERT(m != NULL);
    ASSERT_EQ_INT(WM_ERR_NONE, err.kind);
    ASSERT_EQ_INT(1, m->nfuncs);
    wm_module_free(m);
}

TEST_MAIN()
