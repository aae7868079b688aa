// RMSNorm and the fused residual-add + RMSNorm (kernels.h). One block per row; the row stays in
// registers between the sum of squares and the scaling, so h is read once (and written once by
// the add); the sum runs in a fixed order (per-thread chunks, then block_sum's tree).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels.h"

namespace ziq::backend::cuda {
namespace {

constexpr int kMaxThreads = 256;
constexpr int kMaxChunks = 8;  // 8-element chunks per thread: rows up to 256 * 8 * 8 = 16384

// Rows whose length is a multiple of 8 with 16-byte aligned starts. kAdd: x is h, updated in
// place by delta before the norm.
template <typename T, typename D, bool kAdd>
__global__ void __launch_bounds__(kMaxThreads) rmsnorm_vec_kernel(float* h, const D* delta, int64_t ld_delta,
                                                                  const float* w, int64_t n, float eps, T* y) {
  __shared__ float scratch[33];
  const int64_t row = blockIdx.x;
  const int64_t chunks = n / 8;
  float* hr = h + row * n;
  float v[kMaxChunks][8];
  float ss = 0.f;
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) {
    const int64_t i = threadIdx.x + int64_t(c) * blockDim.x;
    if (i < chunks) {
      load8(hr + i * 8, v[c]);
      if constexpr (kAdd) {
        float d[8];
        load8(delta + row * ld_delta + i * 8, d);
#pragma unroll
        for (int e = 0; e < 8; ++e) v[c][e] += d[e];
        store8(hr + i * 8, v[c]);
      }
#pragma unroll
      for (int e = 0; e < 8; ++e) ss = fmaf(v[c][e], v[c][e], ss);
    }
  }
  ss = block_sum(ss, scratch);
  const float r = 1.0f / sqrtf(ss / float(n) + eps);
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) {
    const int64_t i = threadIdx.x + int64_t(c) * blockDim.x;
    if (i < chunks) {
      float wv[8], o[8];
      load8(w + i * 8, wv);
#pragma unroll
      for (int e = 0; e < 8; ++e) o[e] = v[c][e] * r * wv[e];
      store8(y + row * n + i * 8, o);
    }
  }
}

// Any row length or alignment: element by element, h re-read (from cache) for the scaling.
template <typename T, typename D, bool kAdd>
__global__ void __launch_bounds__(kMaxThreads) rmsnorm_scalar_kernel(float* h, const D* delta, int64_t ld_delta,
                                                                     const float* w, int64_t n, float eps, T* y) {
  __shared__ float scratch[33];
  const int64_t row = blockIdx.x;
  float* hr = h + row * n;
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    float x = hr[i];
    if constexpr (kAdd) {
      x += to_f32(delta[row * ld_delta + i]);
      hr[i] = x;
    }
    ss = fmaf(x, x, ss);
  }
  ss = block_sum(ss, scratch);
  const float r = 1.0f / sqrtf(ss / float(n) + eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) y[row * n + i] = from_f32<T>(hr[i] * r * w[i]);
}

template <typename T, typename D, bool kAdd>
void launch_rmsnorm(float* h, const D* delta, int64_t ld_delta, const float* w, int64_t m, int64_t n, float eps, T* y,
                    cudaStream_t s) {
  if (m <= 0 || n <= 0) return;
  const int64_t chunks = n / 8;
  const bool vec = n % 8 == 0 && aligned16(h) && aligned16(w) && aligned16(y) &&
                   (!kAdd || (aligned16(delta) && ld_delta % 8 == 0));
  const int threads = int(std::min<int64_t>(kMaxThreads, (chunks + 31) / 32 * 32));
  if (vec && chunks <= int64_t(threads) * kMaxChunks) {
    rmsnorm_vec_kernel<T, D, kAdd><<<unsigned(m), threads, 0, s>>>(h, delta, ld_delta, w, n, eps, y);
  } else {
    rmsnorm_scalar_kernel<T, D, kAdd><<<unsigned(m), kMaxThreads, 0, s>>>(h, delta, ld_delta, w, n, eps, y);
  }
  check_launch("rmsnorm");
}

// In place on an activation row of T: element by element, the row re-read for the scaling.
template <typename T>
__global__ void __launch_bounds__(kMaxThreads) rmsnorm_inplace_kernel(T* x, const float* w, int64_t n, float eps) {
  __shared__ float scratch[33];
  T* xr = x + int64_t(blockIdx.x) * n;
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = to_f32(xr[i]);
    ss = fmaf(v, v, ss);
  }
  ss = block_sum(ss, scratch);
  const float r = 1.0f / sqrtf(ss / float(n) + eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) xr[i] = from_f32<T>(w[i] * (to_f32(xr[i]) * r));
}

}  // namespace

template <typename T>
void rmsnorm_inplace(T* x, const float* w, int64_t m, int64_t n, float eps, cudaStream_t s) {
  if (m <= 0 || n <= 0) return;
  rmsnorm_inplace_kernel<T><<<unsigned(m), kMaxThreads, 0, s>>>(x, w, n, eps);
  check_launch("rmsnorm_inplace");
}

template <typename T>
void rmsnorm(const float* x, const float* w, int64_t m, int64_t n, float eps, T* y, cudaStream_t s) {
  // Without the add, x is only read: the kernels take it as h and never write it.
  launch_rmsnorm<T, float, false>(const_cast<float*>(x), nullptr, 0, w, m, n, eps, y, s);
}

template <typename T, typename D>
void add_rmsnorm(float* h, const D* delta, int64_t ld_delta, const float* w, int64_t m, int64_t n, float eps, T* y,
                 cudaStream_t s) {
  launch_rmsnorm<T, D, true>(h, delta, ld_delta, w, m, n, eps, y, s);
}

template void rmsnorm_inplace<float>(float*, const float*, int64_t, int64_t, float, cudaStream_t);
template void rmsnorm_inplace<__nv_bfloat16>(__nv_bfloat16*, const float*, int64_t, int64_t, float, cudaStream_t);
template void rmsnorm<float>(const float*, const float*, int64_t, int64_t, float, float*, cudaStream_t);
template void rmsnorm<__nv_bfloat16>(const float*, const float*, int64_t, int64_t, float, __nv_bfloat16*,
                                     cudaStream_t);
template void add_rmsnorm<float, float>(float*, const float*, int64_t, const float*, int64_t, int64_t, float, float*,
                                        cudaStream_t);
template void add_rmsnorm<__nv_bfloat16, float>(float*, const float*, int64_t, const float*, int64_t, int64_t, float,
                                                __nv_bfloat16*, cudaStream_t);
template void add_rmsnorm<__nv_bfloat16, __nv_bfloat16>(float*, const __nv_bfloat16*, int64_t, const float*, int64_t,
                                                        int64_t, float, __nv_bfloat16*, cudaStream_t);

}  // namespace ziq::backend::cuda
