// Rotary embedding in place (kernels.h): one thread per (row, head, V consecutive pairs), the pair
// (j, j + rot_dim/2) rotated in float32 and rounded to T once.
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels.h"

namespace ziq::backend::cuda {
namespace {

constexpr int kThreads = 256;

template <int V, typename T>
__global__ void __launch_bounds__(kThreads) rope_kernel(T* x, int64_t ld, int64_t col0, int64_t m, int64_t n_heads,
                                                        int64_t head_dim, int64_t half, const int32_t* table_row,
                                                        const float* cos, const float* sin) {
  const int64_t groups = half / V;
  const int64_t item = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item >= m * n_heads * groups) return;
  const int64_t row = item / (n_heads * groups);
  const int64_t rest = item - row * n_heads * groups;
  const int64_t head = rest / groups;
  const int64_t j = (rest - head * groups) * V;
  T* lo = x + row * ld + col0 + head * head_dim + j;
  const int64_t t = int64_t(table_row[row]) * half + j;
  float a[V], b[V], c[V], s[V];
  loadv<V>(lo, a);
  loadv<V>(lo + half, b);
  loadv<V>(cos + t, c);
  loadv<V>(sin + t, s);
  float ra[V], rb[V];
#pragma unroll
  for (int i = 0; i < V; ++i) {
    ra[i] = a[i] * c[i] - b[i] * s[i];  // x * cos + rotate_half(x) * sin, rotate_half = (-x2, x1)
    rb[i] = b[i] * c[i] + a[i] * s[i];
  }
  storev<V>(lo, ra);
  storev<V>(lo + half, rb);
}

}  // namespace

template <typename T>
void rope(T* x, int64_t ld, int64_t col0, int64_t m, int64_t n_heads, int64_t head_dim, int64_t rot_dim,
          const int32_t* table_row, const float* cos, const float* sin, cudaStream_t s) {
  const int64_t half = rot_dim / 2;
  if (m <= 0 || n_heads <= 0 || half <= 0) return;
  const bool vec = half % 8 == 0 && ld % 8 == 0 && col0 % 8 == 0 && head_dim % 8 == 0 && aligned16(x) &&
                   aligned16(cos) && aligned16(sin);
  if (vec) {
    rope_kernel<8><<<grid_for(m * n_heads * (half / 8), kThreads), kThreads, 0, s>>>(
        x, ld, col0, m, n_heads, head_dim, half, table_row, cos, sin);
  } else {
    rope_kernel<1><<<grid_for(m * n_heads * half, kThreads), kThreads, 0, s>>>(x, ld, col0, m, n_heads, head_dim,
                                                                              half, table_row, cos, sin);
  }
  check_launch("rope");
}

template void rope<float>(float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, const int32_t*, const float*,
                          const float*, cudaStream_t);
template void rope<__nv_bfloat16>(__nv_bfloat16*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                  const int32_t*, const float*, const float*, cudaStream_t);

}  // namespace ziq::backend::cuda
