// Every matrix-product kernel this CPU can run, on awkward shapes (rows not a multiple of the 12-row
// tile, columns not a multiple of 32, odd k), against a double-precision reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "backend/cpu/gemm.h"

namespace {

using namespace ziq::backend::cpu;

uint16_t to_bf16_truncate(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t(u >> 16);
}

TEST(Gemm, KernelsMatchDoubleReference) {
  std::vector<GemmKernel> kernels = {GemmKernel::openblas};
  if (cpu_has_avx512()) kernels.push_back(GemmKernel::avx512);
  if (cpu_has_avx512_bf16()) {
    kernels.push_back(GemmKernel::avx512bf16);
    kernels.push_back(GemmKernel::avx512bf16_fast);
  }
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  for (auto [m, n, k] : {std::tuple{1, 1, 1}, {37, 77, 33}, {13, 96, 64}, {25, 40, 130}, {12, 32, 2}}) {
    std::vector<float> x(m * k), wf(n * k);
    std::vector<uint16_t> wb(n * k);
    for (float& v : x) v = dist(rng);
    for (int i = 0; i < n * k; ++i) {
      wb[i] = to_bf16_truncate(dist(rng));
      wf[i] = bf16_to_f32(wb[i]);
    }
    std::vector<double> ref(m * n), mag(m * n);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j)
        for (int kk = 0; kk < k; ++kk) {
          ref[i * n + j] += double(x[i * k + kk]) * wf[j * k + kk];
          mag[i * n + j] += std::abs(double(x[i * k + kk]) * wf[j * k + kk]);
        }
    for (GemmKernel kern : kernels)
      for (bool bf16_weights : {true, false}) {
        std::vector<uint16_t> hi, lo;
        std::vector<float> scratch, y(m * n, -1.0f);
        const GemmInput in = prepare_gemm_input(kern, x.data(), m, k, hi, lo);
        // Two blocks of weight rows, as the backend splits them.
        const int n0 = n / 2;
        for (auto [j0, cols] : {std::pair{0, n0}, {n0, n - n0}}) {
          if (cols == 0) continue;
          const void* w = bf16_weights ? static_cast<const void*>(wb.data() + j0 * k) : wf.data() + j0 * k;
          gemm_block(kern, in, w, bf16_weights, cols, y.data() + j0, n, scratch);
        }
        // f32 kernels: float32 rounding only; bf16x2 keeps 16 bits of x; fast bf16 keeps 8.
        const double rel = kern == GemmKernel::avx512bf16_fast && bf16_weights ? 1e-2
                           : kern == GemmKernel::avx512bf16 && bf16_weights ? 1e-4
                                                                             : 1e-5;
        for (int i = 0; i < m * n; ++i)
          ASSERT_NEAR(y[i], ref[i], rel * mag[i] + 1e-6)
              << gemm_kernel_name(kern) << (bf16_weights ? " bf16" : " f32") << " weights, m=" << m << " n=" << n
              << " k=" << k << " at " << i;
      }
  }
}

}  // namespace
