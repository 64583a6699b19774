/* tilewhisper: BF16 tile GEMM, C (fp32) = A (bf16) . B (bf16) [+ C].
 *
 * One source, compiled once per kernel shape with -D defines, the way an NPU
 * gets one binary per tile shape:
 *
 *   TW_FIXED_M, TW_FIXED_K, TW_FIXED_N
 *                 a fixed shape: every invocation is exactly M x K . K x N
 *                 (the host checks it), so sizes are constants.  Absent: the
 *                 sizes come at run time and edges are tested.
 *   TW_ACCUM      1: honours the `accumulate` argument (C += A.B)
 *   TW_RM         rows of C per work-item (register tile height)
 *   TW_VW, TW_NV  a work-item's columns: TW_NV vectors of TW_VW floats
 *                 (4, 8 or 16), adjacent in memory
 *   TW_LOCAL      1: each work-group stages a TW_BK-deep chunk of B in local
 *                 memory, widened to fp32 once for the group (GPUs);
 *                 0: B is read from global memory through the caches (CPUs)
 *   TW_LX, TW_LY  work-group size (the host launches with it; a fixed size
 *                 also means runtimes that compile per size, PoCL, do it once)
 *   TW_BK         depth of a staged chunk (TW_LOCAL only)
 *
 * A work-item computes a TW_RM x (TW_NV * TW_VW) block of C in registers:
 * per k it widens TW_NV vectors of B and TW_RM scalars of A and issues
 * TW_RM * TW_NV vector FMAs.  bf16 is the top half of an fp32, so widening
 * is a 16-bit shift; all sums are fp32.  Offsets and leading dimensions are
 * in elements. */
#ifndef TW_RM
#define TW_RM 8
#endif
#ifndef TW_VW
#define TW_VW 16
#endif
#ifndef TW_NV
#define TW_NV 2
#endif
#ifndef TW_ACCUM
#define TW_ACCUM 0
#endif
#ifndef TW_LOCAL
#define TW_LOCAL 0
#endif
#ifndef TW_LX
#define TW_LX 8
#endif
#ifndef TW_LY
#define TW_LY 8
#endif
#ifndef TW_BK
#define TW_BK 32
#endif
#ifdef TW_FORCE_BUILD_ERROR
#error forced build failure (TW_FORCE_BUILD_ERROR is defined)
#endif

#if TW_VW == 16
typedef float16 tw_vec;
#define tw_vload(i, p) vload16(i, p)
#define tw_vstore(v, i, p) vstore16(v, i, p)
#define tw_widen(u) as_float16(convert_uint16(u) << 16)
#elif TW_VW == 8
typedef float8 tw_vec;
#define tw_vload(i, p) vload8(i, p)
#define tw_vstore(v, i, p) vstore8(v, i, p)
#define tw_widen(u) as_float8(convert_uint8(u) << 16)
#elif TW_VW == 4
typedef float4 tw_vec;
#define tw_vload(i, p) vload4(i, p)
#define tw_vstore(v, i, p) vstore4(v, i, p)
#define tw_widen(u) as_float4(convert_uint4(u) << 16)
#else
#error TW_VW must be 4, 8 or 16
#endif

#define TW_WN (TW_NV * TW_VW) /* columns per work-item */

static inline float tw_bf16(ushort x) { return as_float((uint)x << 16); }

/* Stores (or adds) one row of a work-item's block; `cols` < TW_WN at the
 * right edge of a run-time-sized C. */
static inline void tw_store_row(__global float *c, const tw_vec *acc, int cols, int accumulate) {
  if (cols >= TW_WN) {
    for (int v = 0; v < TW_NV; v++) {
#if TW_ACCUM
      tw_vec x = accumulate ? tw_vload(v, c) + acc[v] : acc[v];
#else
      tw_vec x = acc[v];
#endif
      tw_vstore(x, v, c);
    }
    return;
  }
  float tmp[TW_WN];
  for (int v = 0; v < TW_NV; v++) tw_vstore(acc[v], v, tmp);
  for (int j = 0; j < cols; j++) {
#if TW_ACCUM
    c[j] = accumulate ? c[j] + tmp[j] : tmp[j];
#else
    c[j] = tmp[j];
#endif
  }
}

__kernel __attribute__((reqd_work_group_size(TW_LX, TW_LY, 1)))
void tw_gemm_bf16(__global const ushort *A, uint a_off, uint lda,
                  __global const ushort *B, uint b_off, uint ldb,
                  __global float *C, uint c_off, uint ldc,
                  int m_arg, int k_arg, int n_arg, int accumulate) {
#ifdef TW_FIXED_M
  const int M = TW_FIXED_M, K = TW_FIXED_K, N = TW_FIXED_N;
#else
  const int M = m_arg, K = k_arg, N = n_arg;
#endif
  const int m = (int)get_global_id(1) * TW_RM, n = (int)get_global_id(0) * TW_WN;
  const int cols = N - n;
  A += a_off;
  B += b_off;
  C += c_off;
#if !TW_LOCAL
  if (m >= M || n >= N) return; /* launch padding (no barriers below) */
#endif
  /* rows past M (the last block of a run-time M) read row M-1; not stored */
  const __global ushort *arow[TW_RM];
  for (int i = 0; i < TW_RM; i++) arow[i] = A + (uint)min(m + i, M - 1) * lda;
  tw_vec acc[TW_RM][TW_NV];
  for (int i = 0; i < TW_RM; i++)
    for (int v = 0; v < TW_NV; v++) acc[i][v] = (tw_vec)(0.0f);

#if TW_LOCAL
  __local float Bs[TW_BK][TW_LX * TW_WN];
  const int lx = get_local_id(0), tid = get_local_id(1) * TW_LX + lx;
  const int n0 = (int)get_group_id(0) * TW_LX * TW_WN;
  for (int k0 = 0; k0 < K; k0 += TW_BK) {
    for (int e = tid; e < TW_BK * TW_LX * TW_WN; e += TW_LX * TW_LY) {
      const int r = e / (TW_LX * TW_WN), c = e % (TW_LX * TW_WN);
      const int gr = k0 + r, gc = n0 + c;
      Bs[r][c] = (gr < K && gc < N) ? tw_bf16(B[(uint)gr * ldb + (uint)gc]) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const int kc = min(TW_BK, K - k0);
    for (int kk = 0; kk < kc; kk++) {
      tw_vec b[TW_NV];
      for (int v = 0; v < TW_NV; v++) b[v] = tw_vload(v, &Bs[kk][lx * TW_WN]);
      for (int i = 0; i < TW_RM; i++) {
        const tw_vec a = (tw_vec)(tw_bf16(arow[i][k0 + kk]));
        for (int v = 0; v < TW_NV; v++) acc[i][v] = fma(a, b[v], acc[i][v]);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (m >= M || n >= N) return;
#else
  if (cols >= TW_WN) {
    for (int k = 0; k < K; k++) {
      const __global ushort *brow = B + (uint)k * ldb + (uint)n;
      tw_vec b[TW_NV];
#pragma unroll
      for (int v = 0; v < TW_NV; v++) b[v] = tw_widen(tw_vload(v, brow));
#pragma unroll
      for (int i = 0; i < TW_RM; i++) {
        const tw_vec a = (tw_vec)(tw_bf16(arow[i][k]));
#pragma unroll
        for (int v = 0; v < TW_NV; v++) acc[i][v] = fma(a, b[v], acc[i][v]);
      }
    }
  } else { /* right edge of a run-time N: B through a zero-filled copy */
    float tmp[TW_WN];
    for (int k = 0; k < K; k++) {
      const __global ushort *brow = B + (uint)k * ldb + (uint)n;
      for (int j = 0; j < TW_WN; j++) tmp[j] = j < cols ? tw_bf16(brow[j]) : 0.0f;
      tw_vec b[TW_NV];
      for (int v = 0; v < TW_NV; v++) b[v] = tw_vload(v, tmp);
      for (int i = 0; i < TW_RM; i++) {
        const tw_vec a = (tw_vec)(tw_bf16(arow[i][k]));
        for (int v = 0; v < TW_NV; v++) acc[i][v] = fma(a, b[v], acc[i][v]);
      }
    }
  }
#endif
  for (int i = 0; i < TW_RM && m + i < M; i++)
    tw_store_row(C + (uint)(m + i) * ldc + (uint)n, acc[i], cols, accumulate);
}

/* Launch-cost probe for calibration: does nothing visible. */
__kernel void tw_empty(__global float *x) {
  if (get_global_id(0) == 0x7fffffffu) x[0] = 0.0f;
}
