// attention<T> (kernels.h): bf16 goes to the tensor-core flash kernel (attention_bf16.cu); float is
// the exact path below, float32 FMA throughout (no tensor cores, no TF32).
//
// The float kernel is flash attention on CUDA cores: one block of 256 threads per (query head,
// 64 queries, sequence); K and V tiles of BN keys in shared memory; per tile
//   S = scale * Q K^T   (a 4 x BN/16 register tile per thread, d in order)
//   softmax             (4 threads per row: running max, rescale, expf, running sum)
//   O = alpha O + P V   (a 4 x DMAX/16 register tile per thread, keys in order)
// and O / l at the end. Every sum runs in a fixed order: the same bits run after run, and a
// sequence's rows never depend on what else is packed with it.
#include "backend/cuda/attention_configs.h"
#include "backend/cuda/common.cuh"
#include "backend/cuda/flash_common.cuh"
#include "backend/cuda/kernels.h"

#include <string>
#include <type_traits>

namespace ziq::backend::cuda {
namespace {

using F32Params = flash::AttnParams<float>;

template <int DMAX, int BN>
struct F32Attn {
  static constexpr int kThreads = 256, BM = 64;
  static constexpr int kRowStride = DMAX + 1;  // odd: the 16 K rows a warp reads fall in distinct banks
  static constexpr int kPStride = BN + 1;
  static constexpr size_t kSmemFloats =
      size_t(BM) * kRowStride + size_t(BN) * kRowStride + size_t(BN) * DMAX + size_t(BM) * kPStride + 2 * BM;
  static constexpr size_t kSmemBytes = kSmemFloats * sizeof(float);
};

template <int DMAX, int BN>
__global__ void __launch_bounds__(256, DMAX >= 256 ? 1 : 2) attention_f32_kernel(const F32Params p) {
  using C = F32Attn<DMAX, BN>;
  constexpr int BM = C::BM, kRS = C::kRowStride, kPS = C::kPStride, kOC = DMAX / 16, kSC = BN / 16;
  extern __shared__ float smem_f[];
  float* sQ = smem_f;             // [BM][kRS]
  float* sK = sQ + BM * kRS;      // [BN][kRS]
  float* sV = sK + BN * kRS;      // [BN][DMAX]
  float* sP = sV + BN * DMAX;     // [BM][kPS]: scores, then probabilities
  float* sAlpha = sP + BM * kPS;  // [BM]: this tile's rescale of each row
  float* sL = sAlpha + BM;        // [BM]: final row sums

  const int head = blockIdx.x;
  const DevSeqSpan seq = p.seqs[blockIdx.z];
  const int len = int(seq.length);
  const int q0 = int(gridDim.y - 1 - blockIdx.y) * BM;
  if (q0 >= len) return;
  const int D = p.head_dim;
  const int window = flash::clamp_window(p.window, len);
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int srow = tid >> 2, spart = tid & 3;  // softmax: 4 threads per row

  const auto [qg, kg, vg] = flash::head_slices(p, seq, head);

  // Rows past the sequence and columns past D read as zeros.
  for (int i = tid; i < BM * DMAX; i += C::kThreads) {
    const int r = i / DMAX, c = i % DMAX;
    sQ[r * kRS + c] = (q0 + r < len && c < D) ? qg[int64_t(q0 + r) * p.ldq + c] : 0.f;
  }

  const int kend = min(len, q0 + BM);
  const int kstart = window > 0 ? max(0, q0 - window + 1) : 0;

  float o[4][kOC] = {};
  float m_run = -INFINITY, l_run = 0.f;
  for (int k0 = kstart / BN * BN; k0 < kend; k0 += BN) {
    __syncthreads();  // the previous tile's K, V and P are no longer read
    for (int i = tid; i < BN * DMAX; i += C::kThreads) {
      const int r = i / DMAX, c = i % DMAX;
      const bool ok = k0 + r < len && c < D;
      sK[r * kRS + c] = ok ? kg[int64_t(k0 + r) * p.ldk + c] : 0.f;
      sV[r * DMAX + c] = ok ? vg[int64_t(k0 + r) * p.ldv + c] : 0.f;
    }
    __syncthreads();

    // Scores of rows ty + 16i, keys tx + 16j, masked to -inf.
    float acc[4][kSC] = {};
#pragma unroll 4
    for (int d = 0; d < D; ++d) {
      float qv[4], kv[kSC];
#pragma unroll
      for (int i = 0; i < 4; ++i) qv[i] = sQ[(ty + 16 * i) * kRS + d];
#pragma unroll
      for (int j = 0; j < kSC; ++j) kv[j] = sK[(tx + 16 * j) * kRS + d];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < kSC; ++j) acc[i][j] = fmaf(qv[i], kv[j], acc[i][j]);
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < kSC; ++j) {
        const int row = q0 + ty + 16 * i, key = k0 + tx + 16 * j;
        const bool masked = key > row || key >= len || (window > 0 && key <= row - window);
        sP[(ty + 16 * i) * kPS + tx + 16 * j] = masked ? -INFINITY : acc[i][j] * p.score_scale;
      }
    __syncthreads();

    // Online softmax of row srow over its BN / 4 keys per thread.
    {
      float* pr = sP + srow * kPS + spart * (BN / 4);
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < BN / 4; ++j) mx = fmaxf(mx, pr[j]);
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(m_run, mx);
      const float base = m_new == -INFINITY ? 0.f : m_new;  // no key yet: exp(-inf) = 0, never NaN
      const float alpha = expf(m_run - base);
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < BN / 4; ++j) {
        pr[j] = expf(pr[j] - base);
        sum += pr[j];
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      l_run = l_run * alpha + sum;
      m_run = m_new;
      if (spart == 0) sAlpha[srow] = alpha;
    }
    __syncthreads();

    // O = alpha O + P V for rows ty + 16i, columns tx + 16c.
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float a = sAlpha[ty + 16 * i];
#pragma unroll
      for (int c = 0; c < kOC; ++c) o[i][c] *= a;
    }
#pragma unroll 4
    for (int n = 0; n < BN; ++n) {
      float pv[4], vv[kOC];
#pragma unroll
      for (int i = 0; i < 4; ++i) pv[i] = sP[(ty + 16 * i) * kPS + n];
#pragma unroll
      for (int c = 0; c < kOC; ++c) vv[c] = sV[n * DMAX + tx + 16 * c];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int c = 0; c < kOC; ++c) o[i][c] = fmaf(pv[i], vv[c], o[i][c]);
    }
  }
  if (spart == 0) sL[srow] = l_run;
  __syncthreads();

  float* og = p.o + seq.offset * p.ldo + int64_t(head) * D;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = ty + 16 * i;
    if (q0 + r >= len) continue;
    const float l = sL[r];
#pragma unroll
    for (int c = 0; c < kOC; ++c)
      if (tx + 16 * c < D) og[int64_t(q0 + r) * p.ldo + tx + 16 * c] = o[i][c] / l;
  }
}

template <int DMAX, int BN>
void launch_f32(const F32Params& p, int n_heads, int n_seqs, int64_t max_len, cudaStream_t s) {
  using C = F32Attn<DMAX, BN>;
  auto kernel = attention_f32_kernel<DMAX, BN>;
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(C::kSmemBytes)),
             "attention: shared memory limit");
  const dim3 grid(unsigned(n_heads), unsigned((max_len + C::BM - 1) / C::BM), unsigned(n_seqs));
  kernel<<<grid, C::kThreads, C::kSmemBytes, s>>>(p);
  check_launch("attention (f32)");
}

}  // namespace

template <typename T>
void attention(const T* q, int64_t ldq, const T* k, int64_t ldk, const T* v, int64_t ldv, T* out, int64_t ldo,
               const DevSeqSpan* seqs, int n_seqs, int64_t max_len, int n_heads, int n_kv_heads, int head_dim,
               float scale, int64_t window, cudaStream_t s) {
  if (n_seqs <= 0 || max_len <= 0 || n_heads <= 0) return;
  if (head_dim <= 0 || head_dim % 8 || head_dim > 256)
    fail("attention: head_dim " + std::to_string(head_dim) + " is not a multiple of 8 up to 256");
  if (n_kv_heads <= 0 || n_heads % n_kv_heads)
    fail("attention: " + std::to_string(n_heads) + " query heads over " + std::to_string(n_kv_heads) +
         " kv heads");
  if (max_len > (int64_t(1) << 30)) fail("attention: sequence too long");
  if constexpr (std::is_same_v<T, float>) {
    const F32Params p{q, k, v, out, ldq, ldk, ldv, ldo, seqs, n_heads / n_kv_heads, head_dim, scale, window};
    if (head_dim <= 32) launch_f32<32, 64>(p, n_heads, n_seqs, max_len, s);
    else if (head_dim <= 64) launch_f32<64, 64>(p, n_heads, n_seqs, max_len, s);
    else if (head_dim <= 128) launch_f32<128, 64>(p, n_heads, n_seqs, max_len, s);
    else launch_f32<256, 32>(p, n_heads, n_seqs, max_len, s);
  } else {
    attention_bf16_config(flash_default_config(head_dim), q, ldq, k, ldk, v, ldv, out, ldo, seqs, n_seqs, max_len,
                          n_heads, n_kv_heads, head_dim, scale, window, s);
  }
}

template void attention<float>(const float*, int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t,
                               const DevSeqSpan*, int, int64_t, int, int, int, float, int64_t, cudaStream_t);
template void attention<__nv_bfloat16>(const __nv_bfloat16*, int64_t, const __nv_bfloat16*, int64_t,
                                       const __nv_bfloat16*, int64_t, __nv_bfloat16*, int64_t, const DevSeqSpan*, int,
                                       int64_t, int, int, int, float, int64_t, cudaStream_t);

}  // namespace ziq::backend::cuda
