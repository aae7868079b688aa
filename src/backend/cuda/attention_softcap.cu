// attention_softcap<T> and softcap_rows (kernels.h): Gemma 2's capped attention and logits, the
// simplest correct way (not a fast path): one block per (query head, query, sequence), the row's
// capped scores in shared memory, its max and sum by fixed-order block reductions, then each
// thread sums its output dimensions over the keys in order. Float32 math throughout; the same bits
// run after run, and a sequence's rows never depend on what else is packed with it.
#include <cfloat>

#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels.h"

namespace ziq::backend::cuda {
namespace {

constexpr int kThreads = 128;

__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float t = lane < warps ? scratch[lane] : -FLT_MAX;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) t = fmaxf(t, __shfl_xor_sync(0xffffffffu, t, o));
    if (lane == 0) scratch[32] = t;
  }
  __syncthreads();
  const float r = scratch[32];
  __syncthreads();  // scratch is reused by the next reduction
  return r;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    attention_softcap_kernel(const T* q, int64_t ldq, const T* k, int64_t ldk, const T* v, int64_t ldv, T* out,
                             int64_t ldo, const DevSeqSpan* seqs, int n_heads, int n_kv_heads, int head_dim,
                             float scale, int64_t window, float softcap) {
  extern __shared__ float sh[];  // [33] reduction scratch, then the row's scores / weights
  float* scratch = sh;
  float* p = sh + 33;
  const int h = blockIdx.x;
  const int64_t i = blockIdx.y;
  const DevSeqSpan s = seqs[blockIdx.z];
  if (i >= s.length) return;
  const int kvh = h / (n_heads / n_kv_heads);
  const int64_t j0 = window > 0 ? max(int64_t(0), i - window + 1) : 0, n = i - j0 + 1;
  const T* qi = q + (s.offset + i) * ldq + int64_t(h) * head_dim;
  float mx = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const T* kj = k + (s.offset + j0 + j) * ldk + int64_t(kvh) * head_dim;
    float dot = 0.f;
    for (int d = 0; d < head_dim; ++d) dot = fmaf(to_f32(qi[d]), to_f32(kj[d]), dot);
    const float x = softcap * tanhf(dot * scale / softcap);  // as transformers: * scale, / cap, tanh, * cap
    p[j] = x;
    mx = fmaxf(mx, x);
  }
  mx = block_max(mx, scratch);
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float e = expf(p[j] - mx);
    p[j] = e;
    sum += e;
  }
  sum = block_sum(sum, scratch);  // its __syncthreads also publishes p
  const float inv = 1.0f / sum;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    const T* vd = v + (s.offset + j0) * ldv + int64_t(kvh) * head_dim + d;
    float acc = 0.f;
    for (int64_t j = 0; j < n; ++j) acc = fmaf(p[j], to_f32(vd[j * ldv]), acc);
    out[(s.offset + i) * ldo + int64_t(h) * head_dim + d] = from_f32<T>(acc * inv);
  }
}

__global__ void __launch_bounds__(256) softcap_kernel(float* x, int64_t n, float softcap) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] = softcap * tanhf(x[i] / softcap);
}

}  // namespace

template <typename T>
void attention_softcap(const T* q, int64_t ldq, const T* k, int64_t ldk, const T* v, int64_t ldv, T* out, int64_t ldo,
                       const DevSeqSpan* seqs, int n_seqs, int64_t max_len, int n_heads, int n_kv_heads, int head_dim,
                       float scale, int64_t window, float softcap, cudaStream_t s) {
  if (n_seqs <= 0 || max_len <= 0) return;
  const int64_t keys = window > 0 ? std::min(window, max_len) : max_len;
  const size_t smem = size_t(33 + keys) * sizeof(float);
  if (max_len > 65535 || smem > size_t(200) << 10)
    fail("attention_softcap: a sequence of " + std::to_string(max_len) + " rows is too long");
  if (smem > size_t(48) << 10)
    check_cuda(cudaFuncSetAttribute(attention_softcap_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)),
               "attention_softcap shared memory");
  const dim3 grid(static_cast<unsigned>(n_heads), static_cast<unsigned>(max_len), static_cast<unsigned>(n_seqs));
  attention_softcap_kernel<T><<<grid, kThreads, smem, s>>>(q, ldq, k, ldk, v, ldv, out, ldo, seqs, n_heads,
                                                           n_kv_heads, head_dim, scale, window, softcap);
  check_launch("attention_softcap");
}

void softcap_rows(float* x, int64_t n, float softcap, cudaStream_t s) {
  if (n <= 0) return;
  softcap_kernel<<<grid_for(n, 256), 256, 0, s>>>(x, n, softcap);
  check_launch("softcap");
}

template void attention_softcap<float>(const float*, int64_t, const float*, int64_t, const float*, int64_t, float*,
                                       int64_t, const DevSeqSpan*, int, int64_t, int, int, int, float, int64_t, float,
                                       cudaStream_t);
template void attention_softcap<__nv_bfloat16>(const __nv_bfloat16*, int64_t, const __nv_bfloat16*, int64_t,
                                               const __nv_bfloat16*, int64_t, __nv_bfloat16*, int64_t,
                                               const DevSeqSpan*, int, int64_t, int, int, int, float, int64_t, float,
                                               cudaStream_t);

}  // namespace ziq::backend::cuda
