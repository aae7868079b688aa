// CUDA kernels of the ziq GPU backend (src/backend/cuda/). Raw device pointers, all launches
// asynchronous on the given stream, no allocation inside (callers pass workspaces), no atomics in
// any reduction: the same inputs give the same bits run after run, and a row's result never
// depends on the other rows of the batch. Arguments a kernel cannot take, and failed launches,
// throw ziq::Error (internal); a fault inside a kernel surfaces at the stream's next synchronization.
//
// T is the activation type: float (--precision f32: exact float32 arithmetic) or __nv_bfloat16
// (--precision bf16: bf16 storage, float32 accumulation and softmax). The residual stream h is
// always float32. Weights for matrix products are not here: cuBLASLt does those (the backend).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace ziq::backend::cuda {

// One packed sequence: rows [offset, offset + length) of q/k/v/out belong to it.
struct DevSeqSpan {
  int64_t offset;
  int64_t length;
};

// out[i, :] = table[ids[i], :] as float; table [vocab, cols] bf16 (table_bf16) or float.
void embed(const void* table, bool table_bf16, int64_t cols, const int32_t* ids, int64_t n, float* out,
           cudaStream_t s);

// y[i, :] = T(x[i, :] * rsqrt(mean(x[i, :]^2) + eps) * w), sum of squares in float32 (as transformers
// does), one block per row, fixed reduction tree. w: float [n].
template <typename T>
void rmsnorm(const float* x, const float* w, int64_t m, int64_t n, float eps, T* y, cudaStream_t s);

// Fused residual + norm: h[i, :] += float(delta[i, :]) (delta row stride ld_delta), then y = rmsnorm(h) as
// above. delta may be float or T.
template <typename T, typename D>
void add_rmsnorm(float* h, const D* delta, int64_t ld_delta, const float* w, int64_t m, int64_t n, float eps,
                 T* y, cudaStream_t s);

// h[i, :] += float(delta[i, :]) (the last residual add of the stack).
template <typename D>
void add_rows(float* h, const D* delta, int64_t ld_delta, int64_t m, int64_t n, cudaStream_t s);

// Rotary embedding in place, rotate-half (GPT-NeoX / Llama) convention, on the first rot_dim
// dimensions of each of n_heads heads of row i (row stride ld elements, the heads start at column
// col0): pairs (j, j + rot_dim/2) for j < rot_dim/2 rotated by the angle whose cos and sin are
// cos[table_row[i] * (rot_dim/2) + j], sin[...]. Math in float32, result rounded to T once.
template <typename T>
void rope(T* x, int64_t ld, int64_t col0, int64_t m, int64_t n_heads, int64_t head_dim, int64_t rot_dim,
          const int32_t* table_row, const float* cos, const float* sin, cudaStream_t s);

// Causal self-attention over packed variable-length sequences with grouped KV heads (n_heads a
// multiple of n_kv_heads; query head h reads kv head h / (n_heads / n_kv_heads)).
// q: rows of ldq elements, head h at columns [h*head_dim, (h+1)*head_dim); k, v likewise with
// n_kv_heads heads (ldk, ldv: q, k and v may be column slices of one fused [rows, q+k+v] buffer);
// out: rows of ldo, n_heads*head_dim columns. Query i of a sequence sees keys j <= i, and only
// j > i - window when window > 0. Scores = scale * q.k in float32; softmax in float32 (online,
// flash-attention style); P rounded to T before P V when T is bf16 (as flash attention does);
// output accumulated in float32, rounded to T once.
// seqs: device array of n_seqs spans; max_len: the longest span (for the grid).
// head_dim: any multiple of 8 up to 256 (a head_dim the bf16 kernels are not compiled for runs
// zero-padded in the next larger one: 40 in the 64 kernel). T = float is the exact path (FMA, no
// tensor cores). T = bf16: tensor cores, mma.sync (sm_80+; wgmma kernels for compute capability
// 9.0 are there too, not yet the default: attention_bf16.cu says why); q, k, v and out must be
// 16-byte aligned with strides that are multiples of 8 (a ziq::Error otherwise).
// Deterministic: a sequence's output does not depend on the other sequences packed with it.
template <typename T>
void attention(const T* q, int64_t ldq, const T* k, int64_t ldk, const T* v, int64_t ldv, T* out, int64_t ldo,
               const DevSeqSpan* seqs, int n_seqs, int64_t max_len, int n_heads, int n_kv_heads, int head_dim,
               float scale, int64_t window, cudaStream_t s);

// Gemma 2's attention with capped scores, the simplest correct kernel (attention_softcap.cu): as
// attention above (same layouts, grouped KV heads, window), scores x = scale * q.k becoming
// softcap * tanh(x / softcap) before the softmax; float32 math, deterministic. Sequences of up to
// 65535 rows (and about 50,000 keys seen per query).
template <typename T>
void attention_softcap(const T* q, int64_t ldq, const T* k, int64_t ldk, const T* v, int64_t ldv, T* out, int64_t ldo,
                       const DevSeqSpan* seqs, int n_seqs, int64_t max_len, int n_heads, int n_kv_heads, int head_dim,
                       float scale, int64_t window, float softcap, cudaStream_t s);

// x[i] = softcap * tanh(x[i] / softcap) for i < n (Gemma 2's final logit cap, on a logits chunk).
void softcap_rows(float* x, int64_t n, float softcap, cudaStream_t s);

// act[i, j] = T(silu(g) * u) for g = gate_up[i, j], u = gate_up[i, I + j] (one fused [m, 2I] product,
// row stride ld), computed in float32. act: [m, I] contiguous.
template <typename T>
void silu_mul(const T* gate_up, int64_t ld, int64_t m, int64_t I, T* act, cudaStream_t s);

// act[i, j] = T(gelu_tanh(g) * u), as silu_mul (GeGLU: Gemma's gelu_pytorch_tanh).
template <typename T>
void gelu_tanh_mul(const T* gate_up, int64_t ld, int64_t m, int64_t I, T* act, cudaStream_t s);

// h[i] *= factor for i < n (Gemma's embedding scale).
void scale(float* h, int64_t n, float factor, cudaStream_t s);

// x[i, :] = T(x[i, :] * rsqrt(mean(x[i, :]^2) + eps) * w) in place, m rows of n (per-head and
// full-width q/k norms, post-norms); float32 math, one block per row.
template <typename T>
void rmsnorm_inplace(T* x, const float* w, int64_t m, int64_t n, float eps, cudaStream_t s);

// out[r, :] = x[rows[r], :] for r < n (row length n_cols, x row stride ldx, out contiguous).
template <typename T>
void gather_rows(const T* x, int64_t ldx, const int32_t* rows, int64_t n, int64_t n_cols, T* out, cudaStream_t s);

// The head's log-softmax, in vocabulary chunks. For one chunk of logits [m, nv] (row stride ld,
// float32, columns v0 .. v0 + nv - 1 of the vocabulary): per row, the chunk's max and sum of
// exp(logit - max) go to stats[(chunk * m + r) * 2 + {0, 1}], and the target's logit to
// target_logit[r] when v0 <= targets[r] < v0 + nv (left untouched otherwise).
void logits_chunk_stats(const float* logits, int64_t ld, int64_t m, int64_t nv, int64_t v0, int chunk,
                        const int32_t* targets, float* stats, float* target_logit, cudaStream_t s);
// out[r] = target_logit[r] - M - log(sum_c stats_sum[c, r] * exp(stats_max[c, r] - M)), M the max over
// chunks, summed in float64 in chunk order.
void logits_combine(const float* stats, int chunks, int64_t m, const float* target_logit, double* out,
                    cudaStream_t s);

// Conversions (weights at load, f32 activations to bf16 where a product needs them).
void f32_to_bf16(const float* x, int64_t n, __nv_bfloat16* y, cudaStream_t s);
void f16_to_bf16(const uint16_t* x, int64_t n, __nv_bfloat16* y, cudaStream_t s);
void bf16_to_f32(const __nv_bfloat16* x, int64_t n, float* y, cudaStream_t s);

// Seeded random weights for benchmarks: w[i] = bf16(scale * u(seed, i)), u uniform in [-1, 1) from a
// counter-based hash of (seed, i), so the values do not depend on the launch shape.
void fill_random_bf16(__nv_bfloat16* w, int64_t n, uint64_t seed, float scale, cudaStream_t s);

}  // namespace ziq::backend::cuda
