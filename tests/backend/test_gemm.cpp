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
  const std::vector<GemmKernel> kernels = available_gemm_kernels();
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
        ziq::AlignedBuffer<uint16_t> parts;
        std::vector<float> scratch, y(m * n, -1.0f);
        const GemmInput in = prepare_gemm_input(kern, x.data(), m, k, parts, 2);
        // Two blocks of weight rows, as the backend splits them (the first a whole number of blocks).
        const int mult = int(gemm_block_multiple(kern));
        const int n0 = std::min(n, (n / 2 + mult - 1) / mult * mult);
        for (auto [j0, cols] : {std::pair{0, n0}, {n0, n - n0}}) {
          if (cols == 0) continue;
          const void* w = bf16_weights ? static_cast<const void*>(wb.data() + j0 * k) : wf.data() + j0 * k;
          gemm_block(kern, in, w, bf16_weights, cols, y.data() + j0, n, scratch);
        }
        if (gemm_prepacks(kern) && bf16_weights) {  // the backend's path: the matrix packed once
          std::vector<float> y2(m * n, -1.0f);
          ziq::AlignedBuffer<uint16_t> packed(size_t(packed_weight_values(kern, n, k)));
          pack_weight_panels(kern, wb.data(), n, k, 0, (n + 31) / 32, packed.data());
          for (auto [j0, cols] : {std::pair{0, n0}, {n0, n - n0}})
            if (cols) gemm_block_packed(kern, in, packed.data(), j0, cols, y2.data() + j0, n);
          ASSERT_EQ(y2, y) << gemm_kernel_name(kern) << " prepacked, m=" << m << " n=" << n << " k=" << k;
        }
        // f32 kernels and amx_bf16x3: float32 rounding only; bf16x2 keeps 16 bits of x; fast bf16 keeps 8.
        const bool one_part = kern == GemmKernel::avx512bf16_fast || kern == GemmKernel::amx_bf16;
        const double rel = one_part && bf16_weights ? 1e-2 : kern == GemmKernel::avx512bf16 && bf16_weights ? 1e-4 : 1e-5;
        for (int i = 0; i < m * n; ++i)
          ASSERT_NEAR(y[i], ref[i], rel * mag[i] + 1e-6)
              << gemm_kernel_name(kern) << (bf16_weights ? " bf16" : " f32") << " weights, m=" << m << " n=" << n
              << " k=" << k << " at " << i;
      }
  }
}

// The exact f32 kernels give bits that depend only on x's row and w's column: the same for any
// split of the rows (a window alone or in a batch), and the AVX2 kernel (CPUs without AVX-512, as
// some CI machines) the same as the AVX-512 one, because each output is one FMA chain down k.
TEST(Gemm, F32KernelsIndependentOfRowsAndEqualAcrossIsas) {
  if (!cpu_has_avx2_fma()) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  const int m = 29, n = 70, k = 37;
  std::vector<float> x(m * k);
  std::vector<uint16_t> wb(n * k);
  for (float& v : x) v = dist(rng);
  for (uint16_t& v : wb) v = to_bf16_truncate(dist(rng));
  auto run = [&](GemmKernel kern, int r0, int rows) {
    ziq::AlignedBuffer<uint16_t> parts;
    std::vector<float> scratch, y(rows * n);
    const GemmInput in = prepare_gemm_input(kern, x.data() + r0 * k, rows, k, parts, 1);
    gemm_block(kern, in, wb.data(), true, n, y.data(), n, scratch);
    return y;
  };
  const std::vector<float> all = run(GemmKernel::avx2, 0, m);
  for (int r0 : {0, 5, 17})
    for (int rows : {1, 7, m - 17}) {
      const std::vector<float> part = run(GemmKernel::avx2, r0, rows);
      for (int i = 0; i < rows * n; ++i) ASSERT_EQ(part[i], all[r0 * n + i]) << "rows from " << r0 << " at " << i;
    }
  if (!cpu_has_avx512()) GTEST_SKIP() << "no AVX-512 to compare with";
  EXPECT_EQ(run(GemmKernel::avx512, 0, m), all);
}

// The AMX kernels' input layout as gemm.h states it (GemmInput::tiles), element by element: x split
// into bf16 parts (each the rounding of what the earlier parts left), per group of 32 rows, step of
// 32 k, part and half a tile of 16 rows x 32 values, zeros past m and k. Filling it needs
// AVX-512 BF16, not the tile unit, so it runs wherever that is (the CI machine too).
TEST(Gemm, AmxInputTileLayout) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU";
  const int64_t m = 37, k = 70, kpad = 96, rows = 64;
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  std::vector<float> x(m * k);
  for (float& v : x) v = dist(rng);
  for (auto [kern, parts] : {std::pair{GemmKernel::amx_bf16x3, 3}, {GemmKernel::amx_bf16, 1}}) {
    ziq::AlignedBuffer<uint16_t> storage;
    const GemmInput in = prepare_gemm_input(kern, x.data(), m, k, storage, 2);
    ASSERT_EQ(in.kpad, kpad);
    ASSERT_EQ(in.parts, parts);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < kpad; ++j) {
        float rest = i < m && j < k ? x[i * k + j] : 0.0f;
        for (int p = 0; p < parts; ++p) {
          const uint16_t want = f32_to_bf16(rest);
          rest -= bf16_to_f32(want);
          const int64_t at = i / 32 * 32 * kpad * parts + (j / 32 * parts + p) * 1024 + i % 32 / 16 * 512 +
                             i % 16 * 32 + j % 32;
          ASSERT_EQ(in.tiles[at], want) << gemm_kernel_name(kern) << " row " << i << " column " << j << " part " << p;
        }
      }
    EXPECT_EQ(gemm_input_rows(in, 32, m - 32).tiles, in.tiles + 32 * kpad * parts);
  }
}

}  // namespace
