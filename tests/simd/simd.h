/*
 * tests/simd/simd.h - the few 128-bit operations kernels.c uses, spelled
 * once for wasm (wasm_simd128.h) and once for the host (SSE4.1), so that
 * one program, built both ways, must print the same bits.
 */
#ifndef SIMD_TEST_H
#define SIMD_TEST_H

#include <stdint.h>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
typedef v128_t vec;
#define V_LOAD(p) wasm_v128_load(p)
#define V_STORE(p, v) wasm_v128_store((p), (v))
#define V_SPLAT8(x) wasm_i8x16_splat((int8_t)(x))
#define V_EQ8(a, b) wasm_i8x16_eq((a), (b))
#define V_MASK8(a) ((uint32_t)wasm_i8x16_bitmask(a))
#define V_AVGR_U8(a, b) wasm_u8x16_avgr((a), (b))
#define V_ADDSAT_U8(a, b) wasm_u8x16_add_sat((a), (b))
#define V_SUBSAT_U8(a, b) wasm_u8x16_sub_sat((a), (b))
#define V_MAX_U8(a, b) wasm_u8x16_max((a), (b))
#define V_SWIZZLE(t, i) wasm_i8x16_swizzle((t), (i))
#define V_AND(a, b) wasm_v128_and((a), (b))
#define V_SHR_U16(a, n) wasm_u16x8_shr((a), (n))
#define V_ADD8(a, b) wasm_i8x16_add((a), (b))
#define V_ADD32(a, b) wasm_i32x4_add((a), (b))
#define V_DOT16(a, b) wasm_i32x4_dot_i16x8((a), (b))
#define V_LANE32(v, i) ((uint32_t)wasm_i32x4_extract_lane((v), (i)))
#define V_ZERO() wasm_i32x4_splat(0)
#define V_F32_ADD(a, b) wasm_f32x4_add((a), (b))
#define V_F32_MUL(a, b) wasm_f32x4_mul((a), (b))
#define V_F32_MIN(a, b) wasm_f32x4_pmin((a), (b))
#define V_F32_SQRT(a) wasm_f32x4_sqrt(a)
#define V_F32_LANE(v, i) wasm_f32x4_extract_lane((v), (i))
#define V_F32_ZERO() wasm_f32x4_splat(0.0f)
#define V_I32_FROM_F32(a) wasm_i32x4_trunc_sat_f32x4(a)
#else
#include <smmintrin.h>
typedef __m128i vec;
#define V_LOAD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define V_STORE(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#define V_SPLAT8(x) _mm_set1_epi8((char)(x))
#define V_EQ8(a, b) _mm_cmpeq_epi8((a), (b))
#define V_MASK8(a) ((uint32_t)_mm_movemask_epi8(a))
#define V_AVGR_U8(a, b) _mm_avg_epu8((a), (b))
#define V_ADDSAT_U8(a, b) _mm_adds_epu8((a), (b))
#define V_SUBSAT_U8(a, b) _mm_subs_epu8((a), (b))
#define V_MAX_U8(a, b) _mm_max_epu8((a), (b))
/* Indices below 16 only (the kernels mask them): pshufb then agrees. */
#define V_SWIZZLE(t, i) _mm_shuffle_epi8((t), (i))
#define V_AND(a, b) _mm_and_si128((a), (b))
#define V_SHR_U16(a, n) _mm_srli_epi16((a), (n))
#define V_ADD8(a, b) _mm_add_epi8((a), (b))
#define V_ADD32(a, b) _mm_add_epi32((a), (b))
#define V_DOT16(a, b) _mm_madd_epi16((a), (b))
#define V_LANE32(v, i) ((uint32_t)_mm_extract_epi32((v), (i)))
#define V_ZERO() _mm_setzero_si128()
#define V_F32_ADD(a, b) _mm_castps_si128(_mm_add_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b)))
#define V_F32_MUL(a, b) _mm_castps_si128(_mm_mul_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b)))
/* pmin(a, b) = b < a ? b : a; minps(b, a) returns a unless b < a. */
#define V_F32_MIN(a, b) _mm_castps_si128(_mm_min_ps(_mm_castsi128_ps(b), _mm_castsi128_ps(a)))
#define V_F32_SQRT(a) _mm_castps_si128(_mm_sqrt_ps(_mm_castsi128_ps(a)))
#define V_F32_ZERO() _mm_setzero_si128()
static inline float v_f32_lane(vec v, int i)
{
    float f[4];
    _mm_storeu_ps(f, _mm_castsi128_ps(v));
    return f[i];
}
#define V_F32_LANE(v, i) v_f32_lane((v), (i))
/* Inputs stay inside the i32 range, where cvttps2dq is exact. */
#define V_I32_FROM_F32(a) _mm_cvttps_epi32(_mm_castsi128_ps(a))
#endif

#endif
