// Pieces shared by the attention kernels: the parameters (all three), and for the two bf16 ones,
// attention_bf16.cu (mma.sync, any sm_80+ GPU) and attention_wgmma.cu (wgmma, sm_90a), the
// cp.async / ldmatrix wrappers and
// the per-tile mask and online softmax on accumulators in the m16n8 fragment layout (lane
// (g, t) = (lane / 4, lane % 4) holds rows g and g + 8, columns 8j + 2t and 8j + 2t + 1 of each
// 8-column tile j), which mma.sync and wgmma share.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "backend/cuda/attention_configs.h"
#include "backend/cuda/common.cuh"

namespace ziq::backend::cuda::flash {

using bf16 = __nv_bfloat16;

// One attention call's arguments, as the kernels take them (T: float or bf16).
template <typename T>
struct AttnParams {
  const T* q;
  const T* k;
  const T* v;
  T* o;
  int64_t ldq, ldk, ldv, ldo;
  const DevSeqSpan* seqs;
  int group;          // query heads per kv head
  int head_dim;       // the real head dimension (<= the kernel's), a multiple of 8
  float score_scale;  // multiplies q.k: scale (float kernel); scale * log2(e) (bf16: softmax in base 2)
  int64_t window;     // > 0: keys j > i - window only
};
using Params = AttnParams<bf16>;

// A kernel launch: grid (heads, query blocks, sequences).
using Launch = void (*)(const Params&, int n_heads, int n_seqs, int64_t max_len, cudaStream_t);

// The wgmma kernels (attention_wgmma.cu), nullptr for a shape it does not have.
Launch wgmma_launch(int d, int bn, int warpgroups, bool overlap);

// The block's head slices of q, k and v, at the first row of its sequence.
template <typename T>
struct HeadSlices {
  const T* q;
  const T* k;
  const T* v;
};
template <typename T>
__device__ __forceinline__ HeadSlices<T> head_slices(const AttnParams<T>& p, const DevSeqSpan& seq, int head) {
  const int64_t kv_head = head / p.group;
  return {p.q + seq.offset * p.ldq + int64_t(head) * p.head_dim, p.k + seq.offset * p.ldk + kv_head * p.head_dim,
          p.v + seq.offset * p.ldv + kv_head * p.head_dim};
}

// The window in 32 bits: 0 (none), else at most the sequence's length (the same mask).
__device__ __forceinline__ int clamp_window(int64_t window, int len) {
  return window > 0 ? int(min(window, int64_t(len))) : 0;
}

// Keys a block of queries [q0, q0 + rows) needs: tiles [tile0, tile0 + n_tiles) of bn keys, up to
// its last row (causal) and from its first row's window.
struct KeyTiles {
  int tile0, n_tiles;
};
__device__ __forceinline__ KeyTiles key_tiles(int q0, int rows, int len, int window, int bn) {
  const int kend = min(len, q0 + rows);
  const int kstart = window > 0 ? max(0, q0 - window + 1) : 0;
  return {kstart / bn, (kend + bn - 1) / bn - kstart / bn};
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, bypassing L1; zero-filled (nothing read) when !pred.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool pred) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(pred ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most N of this thread's committed copy groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ void cp_async_wait_all() { cp_async_wait<0>(); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t addr, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t addr, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// 2^x; exp2(-inf) = 0. The hardware approximation (2 ulp) is far below bf16's rounding of P.
__device__ __forceinline__ float exp2_fast(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// -inf where key > row (causal), key >= len, or key <= row - window. `row`: this lane's row g of
// the 16-row tile; `key`: this lane's first column, k0 + 2t.
template <int NT>
__device__ __forceinline__ void mask_tile(float (&s)[NT][4], int row, int key, int len, int window) {
#pragma unroll
  for (int j = 0; j < NT; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int r = row + (e >> 1) * 8, k = key + j * 8 + (e & 1);
      if (k > r || k >= len || (window > 0 && k <= r - window)) s[j][e] = -INFINITY;
    }
}

// One online-softmax step of a 16-row tile, base 2: each row's new max over its 4 lanes, P =
// exp2(s * scale_log2 - max) in place of the scores, the lane's partial row sums and the output
// rows rescaled by the change of max.
template <int NT, int DT>
__device__ __forceinline__ void softmax_tile(float (&s)[NT][4], float (&o)[DT][4], float (&row_max)[2],
                                             float (&row_sum)[2], float scale_log2) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float mx = -INFINITY;
#pragma unroll
    for (int j = 0; j < NT; ++j) mx = fmaxf(mx, fmaxf(s[j][2 * h], s[j][2 * h + 1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(row_max[h], mx);
    // A row with no key yet (all -inf) keeps a zero base: exp2(-inf - 0) = 0, never NaN.
    const float base = m_new == -INFINITY ? 0.f : m_new * scale_log2;
    const float alpha = exp2_fast(row_max[h] * scale_log2 - base);
    row_max[h] = m_new;
    float sum = 0.f;
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 2 * h; e < 2 * h + 2; ++e) {
        s[j][e] = exp2_fast(fmaf(s[j][e], scale_log2, -base));
        sum += s[j][e];
      }
    row_sum[h] = row_sum[h] * alpha + sum;
#pragma unroll
    for (int j = 0; j < DT; ++j) {
      o[j][2 * h] *= alpha;
      o[j][2 * h + 1] *= alpha;
    }
  }
}

// The A fragment (16 x 16, bf16) of P for keys 16kk .. 16kk + 15: the accumulators of column
// tiles 2kk and 2kk + 1, rounded to bf16.
template <int NT>
__device__ __forceinline__ void p_fragment(const float (&s)[NT][4], int kk, uint32_t (&a)[4]) {
  a[0] = pack_bf16x2(s[2 * kk][0], s[2 * kk][1]);
  a[1] = pack_bf16x2(s[2 * kk][2], s[2 * kk][3]);
  a[2] = pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
  a[3] = pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
}

// 1 / l for this lane's two rows, l summed over the row's 4 lanes (0 for a row with no key).
__device__ __forceinline__ void row_inverse(const float (&row_sum)[2], float (&inv)[2]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = row_sum[h];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    inv[h] = l > 0.f ? 1.f / l : 0.f;
  }
}

}  // namespace ziq::backend::cuda::flash
