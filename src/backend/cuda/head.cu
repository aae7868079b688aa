// The head's log-softmax over vocabulary chunks (kernels.h): per chunk, each row's (max, sum of
// exp) and the target's logit; then one f64 combination over the chunks. The logits are read once,
// and no row ever needs the whole vocabulary at once.
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels.h"

namespace ziq::backend::cuda {
namespace {

constexpr int kThreads = 256;

// A running softmax denominator: the sum of exp(x - max) over the values seen, kept in double
// (memory-bound kernel: the adds are free, and the float sum of ~1000 terms a thread would cost
// ~1e-6 relative); (-inf, 0) when none (or only -inf) were seen.
struct MaxSum {
  float max = -INFINITY;
  double sum = 0.0;

  // Adds K values with one rescale: exp(x - new max) for each, and the old sum scaled once.
  template <int K>
  __device__ __forceinline__ void add(const float (&x)[K]) {
    float mx = max;
#pragma unroll
    for (int i = 0; i < K; ++i) mx = fmaxf(mx, x[i]);
    if (mx == -INFINITY) return;
    double s = sum * double(expf(max - mx));
#pragma unroll
    for (int i = 0; i < K; ++i) s += double(expf(x[i] - mx));
    max = mx;
    sum = s;
  }
  // Commutative in its two arguments (bit for bit), so every lane of a butterfly agrees.
  __device__ __forceinline__ void merge(float omax, double osum) {
    const float mx = fmaxf(max, omax);
    if (mx == -INFINITY) return;
    sum = sum * double(expf(max - mx)) + osum * double(expf(omax - mx));
    max = mx;
  }
  __device__ __forceinline__ void warp_merge() {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float omax = __shfl_xor_sync(0xffffffffu, max, o);
      const double osum = __shfl_xor_sync(0xffffffffu, sum, o);
      merge(omax, osum);
    }
  }
};

template <bool kVec>
__global__ void __launch_bounds__(kThreads) chunk_stats_kernel(const float* logits, int64_t ld, int64_t m, int64_t nv,
                                                               int64_t v0, int chunk, const int32_t* targets,
                                                               float* stats, float* target_logit) {
  __shared__ float smax[32];
  __shared__ double ssum[32];
  const int64_t r = blockIdx.x;
  const float* row = logits + r * ld;
  MaxSum acc;
  const int64_t n8 = kVec ? nv / 8 : 0;
  for (int64_t i = threadIdx.x; i < n8; i += blockDim.x) {
    float x[8];
    load8(row + i * 8, x);
    acc.add(x);
  }
  for (int64_t i = n8 * 8 + threadIdx.x; i < nv; i += blockDim.x) {
    const float x[1] = {row[i]};
    acc.add(x);
  }
  // Lanes, then warps, in a fixed tree.
  acc.warp_merge();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    smax[warp] = acc.max;
    ssum[warp] = acc.sum;
  }
  __syncthreads();
  if (warp == 0) {
    MaxSum tot;
    if (lane < int(blockDim.x >> 5)) {
      tot.max = smax[lane];
      tot.sum = ssum[lane];
    }
    tot.warp_merge();
    if (lane == 0) {
      stats[(int64_t(chunk) * m + r) * 2] = tot.max;
      stats[(int64_t(chunk) * m + r) * 2 + 1] = float(tot.sum);
      const int64_t t = targets[r];
      if (t >= v0 && t < v0 + nv) target_logit[r] = row[t - v0];
    }
  }
}

__global__ void __launch_bounds__(kThreads) combine_kernel(const float* stats, int chunks, int64_t m,
                                                           const float* target_logit, double* out) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= m) return;
  double mx = -INFINITY;
  for (int c = 0; c < chunks; ++c) mx = fmax(mx, double(stats[(int64_t(c) * m + r) * 2]));
  double sum = 0.0;
  for (int c = 0; c < chunks; ++c) {
    const int64_t i = (int64_t(c) * m + r) * 2;
    sum += double(stats[i + 1]) * exp(double(stats[i]) - mx);
  }
  out[r] = double(target_logit[r]) - mx - log(sum);
}

}  // namespace

void logits_chunk_stats(const float* logits, int64_t ld, int64_t m, int64_t nv, int64_t v0, int chunk,
                        const int32_t* targets, float* stats, float* target_logit, cudaStream_t s) {
  if (m <= 0) return;
  if (ld % 4 == 0 && aligned16(logits))
    chunk_stats_kernel<true><<<unsigned(m), kThreads, 0, s>>>(logits, ld, m, nv, v0, chunk, targets, stats,
                                                             target_logit);
  else
    chunk_stats_kernel<false><<<unsigned(m), kThreads, 0, s>>>(logits, ld, m, nv, v0, chunk, targets, stats,
                                                              target_logit);
  check_launch("logits_chunk_stats");
}

void logits_combine(const float* stats, int chunks, int64_t m, const float* target_logit, double* out,
                    cudaStream_t s) {
  if (m <= 0) return;
  combine_kernel<<<grid_for(m, kThreads), kThreads, 0, s>>>(stats, chunks, m, target_logit, out);
  check_launch("logits_combine");
}

}  // namespace ziq::backend::cuda
