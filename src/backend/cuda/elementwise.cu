// Row-wise element kernels of kernels.h: embedding lookup, residual add, SwiGLU, row gather, and
// the dtype conversions. All memory-bound: each thread moves 8 consecutive elements with 16-byte
// accesses when lengths, strides and pointers allow (else one element), one pass, no reductions.
#include "backend/cuda/common.cuh"
#include "backend/random.h"
#include "backend/cuda/kernels.h"

namespace ziq::backend::cuda {
namespace {

constexpr int kThreads = 256;

// Thread -> (row, first column) over m rows of `cols` columns in chunks of V; false past the end.
template <int V>
__device__ __forceinline__ bool row_chunk(int64_t m, int64_t cols, int64_t& row, int64_t& col) {
  const int64_t chunks = cols / V;
  const int64_t item = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item >= m * chunks) return false;
  row = item / chunks;
  col = (item - row * chunks) * V;
  return true;
}

template <int V, typename T>
__global__ void __launch_bounds__(kThreads) embed_kernel(const T* table, int64_t cols, const int32_t* ids, int64_t n,
                                                         float* out) {
  int64_t r, c;
  if (!row_chunk<V>(n, cols, r, c)) return;
  float f[V];
  loadv<V>(table + int64_t(ids[r]) * cols + c, f);
  storev<V>(out + r * cols + c, f);
}

template <int V, typename D>
__global__ void __launch_bounds__(kThreads) add_rows_kernel(float* h, const D* delta, int64_t ld, int64_t m,
                                                            int64_t n) {
  int64_t r, c;
  if (!row_chunk<V>(m, n, r, c)) return;
  float a[V], d[V];
  loadv<V>(h + r * n + c, a);
  loadv<V>(delta + r * ld + c, d);
#pragma unroll
  for (int i = 0; i < V; ++i) a[i] += d[i];
  storev<V>(h + r * n + c, a);
}

// silu(g) * u (kGelu false, as torch: g / (1 + exp(-g)) * u) or gelu_tanh(g) * u (GeGLU, torch's
// gelu(approximate="tanh")), float32 math.
template <int V, bool kGelu, typename T>
__global__ void __launch_bounds__(kThreads) act_mul_kernel(const T* gate_up, int64_t ld, int64_t m, int64_t I,
                                                           T* act) {
  int64_t r, c;
  if (!row_chunk<V>(m, I, r, c)) return;
  float g[V], u[V];
  loadv<V>(gate_up + r * ld + c, g);
  loadv<V>(gate_up + r * ld + I + c, u);
#pragma unroll
  for (int i = 0; i < V; ++i) {
    if constexpr (kGelu)
      g[i] = 0.5f * g[i] * (1.0f + tanhf(0.7978845608028654f * (g[i] + 0.044715f * g[i] * g[i] * g[i]))) * u[i];
    else
      g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
  }
  storev<V>(act + r * I + c, g);
}

__global__ void __launch_bounds__(kThreads) scale_kernel(float* h, int64_t n, float s) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) h[i] *= s;
}

template <int V, typename T>
__global__ void __launch_bounds__(kThreads) gather_rows_kernel(const T* x, int64_t ldx, const int32_t* rows,
                                                               int64_t n, int64_t n_cols, T* out) {
  int64_t r, c;
  if (!row_chunk<V>(n, n_cols, r, c)) return;
  if constexpr (V == 8) {
    // A raw 16-byte copy: bits unchanged for either type.
    const uint4* src = reinterpret_cast<const uint4*>(x + int64_t(rows[r]) * ldx + c);
    uint4* dst = reinterpret_cast<uint4*>(out + r * n_cols + c);
#pragma unroll
    for (int i = 0; i < int(V * sizeof(T) / 16); ++i) dst[i] = src[i];
  } else {
    out[r * n_cols + c] = x[int64_t(rows[r]) * ldx + c];
  }
}

// Flat conversion of n elements; the vector kernel covers the first n / 8 * 8 and the scalar one
// the tail (from `first`).
template <int V, typename S, typename T>
__global__ void __launch_bounds__(kThreads) convert_kernel(const S* x, int64_t first, int64_t n, T* y) {
  const int64_t i = first + (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * V;
  if (i + V > n) return;
  float f[V];
  loadv<V>(x + i, f);
  storev<V>(y + i, f);
}

__global__ void __launch_bounds__(kThreads)
    fill_random_kernel(__nv_bfloat16* w, int64_t n, uint64_t seed, float scale) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) w[i] = __float2bfloat16_rn(scale * random_uniform(seed, uint64_t(i)));
}

// Runs launch(vec, grid) over rows x cols in chunks of 8 (vec: every pointer 16-byte aligned, every
// length and stride a multiple of 8) or of 1, then checks the launch.
template <typename Launch>
void launch_rows(bool vec, int64_t rows, int64_t cols, cudaStream_t s, const char* name, Launch&& launch) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t per = vec ? 8 : 1;
  launch(vec, grid_for(rows * (cols / per), kThreads));
  check_launch(name);
}

template <typename S, typename T>
void convert(const S* x, int64_t n, T* y, cudaStream_t s, const char* name) {
  if (n <= 0) return;
  int64_t first = 0;
  if (aligned16(x) && aligned16(y) && n >= 8) {
    first = n / 8 * 8;
    convert_kernel<8, S, T><<<grid_for(n / 8, kThreads), kThreads, 0, s>>>(x, 0, n, y);
    check_launch(name);
  }
  if (first < n) {
    convert_kernel<1, S, T><<<grid_for(n - first, kThreads), kThreads, 0, s>>>(x, first, n, y);
    check_launch(name);
  }
}

}  // namespace

void embed(const void* table, bool table_bf16, int64_t cols, const int32_t* ids, int64_t n, float* out,
           cudaStream_t s) {
  const bool vec = cols % 8 == 0 && aligned16(table) && aligned16(out);
  launch_rows(vec, n, cols, s, "embed", [&](bool v, unsigned grid) {
    if (table_bf16) {
      const auto* t = static_cast<const __nv_bfloat16*>(table);
      if (v) embed_kernel<8><<<grid, kThreads, 0, s>>>(t, cols, ids, n, out);
      else embed_kernel<1><<<grid, kThreads, 0, s>>>(t, cols, ids, n, out);
    } else {
      const auto* t = static_cast<const float*>(table);
      if (v) embed_kernel<8><<<grid, kThreads, 0, s>>>(t, cols, ids, n, out);
      else embed_kernel<1><<<grid, kThreads, 0, s>>>(t, cols, ids, n, out);
    }
  });
}

template <typename D>
void add_rows(float* h, const D* delta, int64_t ld_delta, int64_t m, int64_t n, cudaStream_t s) {
  const bool vec = n % 8 == 0 && ld_delta % 8 == 0 && aligned16(h) && aligned16(delta);
  launch_rows(vec, m, n, s, "add_rows", [&](bool v, unsigned grid) {
    if (v) add_rows_kernel<8><<<grid, kThreads, 0, s>>>(h, delta, ld_delta, m, n);
    else add_rows_kernel<1><<<grid, kThreads, 0, s>>>(h, delta, ld_delta, m, n);
  });
}

template <bool kGelu, typename T>
void act_mul(const T* gate_up, int64_t ld, int64_t m, int64_t I, T* act, cudaStream_t s) {
  const bool vec = I % 8 == 0 && ld % 8 == 0 && aligned16(gate_up) && aligned16(act);
  launch_rows(vec, m, I, s, kGelu ? "gelu_tanh_mul" : "silu_mul", [&](bool v, unsigned grid) {
    if (v) act_mul_kernel<8, kGelu><<<grid, kThreads, 0, s>>>(gate_up, ld, m, I, act);
    else act_mul_kernel<1, kGelu><<<grid, kThreads, 0, s>>>(gate_up, ld, m, I, act);
  });
}

template <typename T>
void silu_mul(const T* gate_up, int64_t ld, int64_t m, int64_t I, T* act, cudaStream_t s) {
  act_mul<false>(gate_up, ld, m, I, act, s);
}

template <typename T>
void gelu_tanh_mul(const T* gate_up, int64_t ld, int64_t m, int64_t I, T* act, cudaStream_t s) {
  act_mul<true>(gate_up, ld, m, I, act, s);
}

void scale(float* h, int64_t n, float factor, cudaStream_t s) {
  if (n <= 0) return;
  scale_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(h, n, factor);
  check_launch("scale");
}

template <typename T>
void gather_rows(const T* x, int64_t ldx, const int32_t* rows, int64_t n, int64_t n_cols, T* out, cudaStream_t s) {
  const bool vec = n_cols % 8 == 0 && ldx % 8 == 0 && aligned16(x) && aligned16(out);
  launch_rows(vec, n, n_cols, s, "gather_rows", [&](bool v, unsigned grid) {
    if (v) gather_rows_kernel<8><<<grid, kThreads, 0, s>>>(x, ldx, rows, n, n_cols, out);
    else gather_rows_kernel<1><<<grid, kThreads, 0, s>>>(x, ldx, rows, n, n_cols, out);
  });
}

void f32_to_bf16(const float* x, int64_t n, __nv_bfloat16* y, cudaStream_t s) { convert(x, n, y, s, "f32_to_bf16"); }
void bf16_to_f32(const __nv_bfloat16* x, int64_t n, float* y, cudaStream_t s) { convert(x, n, y, s, "bf16_to_f32"); }

// f16 -> f32 is exact, so the result is rounded once, to nearest even.
void f16_to_bf16(const uint16_t* x, int64_t n, __nv_bfloat16* y, cudaStream_t s) {
  convert(reinterpret_cast<const __half*>(x), n, y, s, "f16_to_bf16");
}

void fill_random_bf16(__nv_bfloat16* w, int64_t n, uint64_t seed, float scale, cudaStream_t s) {
  if (n <= 0) return;
  fill_random_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(w, n, seed, scale);
  check_launch("fill_random_bf16");
}

template void add_rows<float>(float*, const float*, int64_t, int64_t, int64_t, cudaStream_t);
template void add_rows<__nv_bfloat16>(float*, const __nv_bfloat16*, int64_t, int64_t, int64_t, cudaStream_t);
template void silu_mul<float>(const float*, int64_t, int64_t, int64_t, float*, cudaStream_t);
template void silu_mul<__nv_bfloat16>(const __nv_bfloat16*, int64_t, int64_t, int64_t, __nv_bfloat16*, cudaStream_t);
template void gelu_tanh_mul<float>(const float*, int64_t, int64_t, int64_t, float*, cudaStream_t);
template void gelu_tanh_mul<__nv_bfloat16>(const __nv_bfloat16*, int64_t, int64_t, int64_t, __nv_bfloat16*,
                                           cudaStream_t);
template void gather_rows<float>(const float*, int64_t, const int32_t*, int64_t, int64_t, float*, cudaStream_t);
template void gather_rows<__nv_bfloat16>(const __nv_bfloat16*, int64_t, const int32_t*, int64_t, int64_t,
                                         __nv_bfloat16*, cudaStream_t);

}  // namespace ziq::backend::cuda
