// The attention kernels (src/backend/cpu/attention.h) against a double-precision reference, on
// packed batches of sequences of different lengths, GQA groups 1/2/7, head sizes that are and are
// not multiples of 16, with and without a sliding window.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/gemm.h"

namespace {

using namespace ziq::backend;
using cpu::AttentionKernel;

struct Shape {
  int64_t n_heads, n_kv_heads, head_dim, window;
  float scale;
  std::vector<int64_t> lengths;
};

struct Case {
  Shape sh;
  std::vector<SeqSpan> seqs;
  int64_t rows = 0;
  std::vector<float> q, k, v;
  std::vector<double> ref, mag;  // mag: sum of p * |v|, the size of what the output sums

  explicit Case(const Shape& s, uint32_t seed) : sh(s) {
    for (int64_t len : s.lengths) {
      seqs.push_back({rows, len});
      rows += len;
    }
    const int64_t ldq = s.n_heads * s.head_dim, ldk = s.n_kv_heads * s.head_dim;
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist;
    for (auto* x : {&q, &k, &v}) {
      x->resize(rows * (x == &q ? ldq : ldk));
      for (float& f : *x) f = dist(rng);
    }
    ref.assign(rows * ldq, 0.0);
    mag.assign(rows * ldq, 0.0);
    const int64_t group = s.n_heads / s.n_kv_heads;
    for (const SeqSpan& sp : seqs)
      for (int64_t h = 0; h < s.n_heads; ++h)
        for (int64_t i = 0; i < sp.length; ++i) {
          const int64_t lo = s.window > 0 ? std::max<int64_t>(0, i - s.window + 1) : 0;
          const float* qi = &q[(sp.offset + i) * ldq + h * s.head_dim];
          std::vector<double> p(i + 1 - lo);
          double mx = -INFINITY, sum = 0;
          for (int64_t j = lo; j <= i; ++j) {
            const float* kj = &k[(sp.offset + j) * ldk + (h / group) * s.head_dim];
            double dot = 0;
            for (int64_t d = 0; d < s.head_dim; ++d) dot += double(qi[d]) * kj[d];
            p[j - lo] = double(s.scale) * dot;
            mx = std::max(mx, p[j - lo]);
          }
          for (double& x : p) sum += (x = std::exp(x - mx));
          double* o = &ref[(sp.offset + i) * ldq + h * s.head_dim];
          double* m = &mag[(sp.offset + i) * ldq + h * s.head_dim];
          for (int64_t j = lo; j <= i; ++j) {
            const float* vj = &v[(sp.offset + j) * ldk + (h / group) * s.head_dim];
            for (int64_t d = 0; d < s.head_dim; ++d) {
              o[d] += p[j - lo] / sum * vj[d];
              m[d] += p[j - lo] / sum * std::abs(vj[d]);
            }
          }
        }
  }

  cpu::AttentionArgs args(std::vector<float>& out) const {
    out.assign(ref.size(), NAN);
    return {q.data(), k.data(), v.data(), out.data(), sh.n_heads, sh.n_kv_heads, sh.head_dim, sh.scale, sh.window};
  }
};

std::vector<Shape> shapes() {
  return {
      {4, 4, 16, 0, 0.25f, {1, 70, 130}},
      {4, 2, 8, 0, 0.35f, {64, 3, 129}},
      {14, 2, 64, 0, 0.125f, {150, 65}},
      {14, 2, 64, 40, 0.125f, {150, 17}},
      {7, 7, 37, 0, 0.6f, {100, 33}},         // head_dim not a multiple of 16, peaky softmax
      {2, 1, 80, 70, 0.11f, {200}},           // window (exclusive of block edges)
      {8, 4, 96, 64, 0.1f, {130, 1, 64}},     // window = one key block
      {2, 2, 128, 0, 0.09f, {90, 77}},
      {1, 1, 5, 3, 1.0f, {20, 2}},
      {2, 1, 16, 0, 4.0f, {150, 70}},         // score gaps past 87: weights that underflow to 0
  };
}

std::vector<AttentionKernel> kernels() {
  std::vector<AttentionKernel> ks = {AttentionKernel::portable};
  if (cpu::cpu_has_avx512()) ks.push_back(AttentionKernel::avx512);
  return ks;
}

TEST(Attention, KernelsMatchDoubleReference) {
  uint32_t seed = 1;
  for (const Shape& sh : shapes()) {
    const Case c(sh, seed++);
    std::vector<std::vector<float>> outs;
    for (AttentionKernel kern : kernels()) {
      std::vector<float> out;
      cpu::Attention att(c.args(out), c.seqs, kern);
      att.run_all();
      double worst = 0;
      for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - c.ref[i]) / c.mag[i]);
      // float32 rounding of dot products and sums of a few hundred terms: ~1e-7; a wrong mask,
      // scale or rescaling shows at 1e-2 or more.
      EXPECT_LT(worst, 1e-5) << "kernel " << int(kern) << " heads " << sh.n_heads << "/" << sh.n_kv_heads
                             << " head_dim " << sh.head_dim << " window " << sh.window;
      outs.push_back(std::move(out));
    }
    // The AVX-512 and portable kernels compute the same sums, in a different order.
    for (size_t i = 0; i < outs[0].size() && outs.size() == 2; ++i)
      ASSERT_NEAR(outs[0][i], outs[1][i], 2e-6 * c.mag[i]) << "element " << i << " head_dim " << sh.head_dim;
  }
}

// The AMX kernel rounds q, k, v and the softmax weights to bf16 (8 bits of mantissa: 2^-9
// relative each), so it is held to a bf16-sized bar; a wrong mask, scale or rescaling shows at
// 1e-1 or more. Only on CPUs with AMX (the benchmark machine); elsewhere skipped.
TEST(Attention, AmxBf16KernelMatchesDoubleReference) {
  if (!cpu::amx_attention_supports(32)) GTEST_SKIP() << "no AMX on this CPU";
  std::vector<Shape> amx_shapes = {{8, 4, 32, 0, 0.18f, {300, 17, 1}}, {2, 1, 32, 50, 0.3f, {140}}};
  for (const Shape& sh : shapes())
    if (sh.head_dim % 32 == 0) amx_shapes.push_back(sh);
  uint32_t seed = 50;
  for (const Shape& sh : amx_shapes) {
    const Case c(sh, seed++);
    std::vector<float> out;
    cpu::Attention att(c.args(out), c.seqs, AttentionKernel::amx_bf16);
    att.run_all();
    double worst = 0;
    for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - c.ref[i]) / c.mag[i]);
    EXPECT_LT(worst, 3e-2) << "heads " << sh.n_heads << "/" << sh.n_kv_heads << " head_dim " << sh.head_dim
                           << " window " << sh.window;
    EXPECT_GT(worst, 1e-6) << "bf16 rounding should show";  // the kernel really ran in bf16
  }
}

// Through the backend with several threads: the same bits as one thread running every task.
TEST(Attention, BackendMatchesSingleThreadBitForBit) {
  const Case c({14, 2, 64, 0, 0.125f, {150, 65, 1}}, 99);
  std::vector<float> single;
  cpu::Attention att(c.args(single), c.seqs);
  att.run_all();
  auto backend = make_cpu_backend(3);
  std::vector<float> out(c.ref.size(), NAN);
  backend->set_batch({{}, {}, c.seqs, {}, {}});
  backend->attention(c.q.data(), c.k.data(), c.v.data(), out.data(), 14, 2, 64, 0.125f, 0);
  EXPECT_EQ(out, single);
  // A sequence alone gives the same bits as inside the batch.
  const SeqSpan alone{0, 65};
  std::vector<float> out1(65 * 14 * 64, NAN);
  backend->set_batch({{}, {}, {&alone, 1}, {}, {}});
  backend->attention(c.q.data() + 150 * 14 * 64, c.k.data() + 150 * 2 * 64, c.v.data() + 150 * 2 * 64, out1.data(),
                     14, 2, 64, 0.125f, 0);
  EXPECT_TRUE(std::equal(out1.begin(), out1.end(), single.begin() + 150 * 14 * 64));
}

}  // namespace
