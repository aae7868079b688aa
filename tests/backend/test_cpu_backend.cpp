// The CPU backend's fused gated MLP (on AMX: gate/up products, silu * up and the bf16 split of the
// down projection's input in one pass) against the same steps run one by one through the backend:
// the same bits, with and without biases, in both precisions, on shapes whose rows and widths are
// not multiples of the 32-row, 32-column tile blocks. Where the CPU has no AMX the backend runs
// the steps itself and the test checks the interface only; the device (Xeon with AMX) runs it for real.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/vec.h"

namespace {

using namespace ziq::backend;

std::vector<uint16_t> random_bf16(size_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> dist;
  std::vector<uint16_t> w(n);
  for (uint16_t& v : w) v = cpu::f32_to_bf16(dist(rng) * scale);
  return w;
}

TEST(CpuBackend, GatedMlpEqualsTheStepsOneByOne) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  // m * I stays a multiple of 8: silu_mul's vector body then covers every element in both paths.
  for (auto [m, H, I] : {std::tuple{70, 64, 80}, {33, 40, 96}, {130, 96, 32}})
    for (const char* precision : {"f32", "bf16"})
      for (bool biases : {false, true}) {
        auto be = make_cpu_backend(3, precision);
        const std::vector<uint16_t> wg = random_bf16(size_t(I) * H, rng, 0.2f), wu = random_bf16(size_t(I) * H, rng, 0.2f),
                                    wd = random_bf16(size_t(H) * I, rng, 0.2f);
        auto gate = be->load_matrix(HostMatrix{DType::bf16, wg.data(), I, H, H});
        auto up = be->load_matrix(HostMatrix{DType::bf16, wu.data(), I, H, H});
        auto down = be->load_matrix(HostMatrix{DType::bf16, wd.data(), H, I, I});
        std::vector<float> x(size_t(m) * H), bg(I), bu(I), bd(H);
        for (auto* v : {&x, &bg, &bu, &bd})
          for (float& f : *v) f = dist(rng);
        auto tbg = be->load_vector(bg.data(), 1, I), tbu = be->load_vector(bu.data(), 1, I),
             tbd = be->load_vector(bd.data(), 1, H);
        const Backend::Mlp mlp{gate.get(), up.get(), down.get(), biases ? tbg.get() : nullptr,
                               biases ? tbu.get() : nullptr, biases ? tbd.get() : nullptr};

        // The steps one by one: the products through the backend, silu * up here (as cpu::silu_mul
        // does: x / (1 + exp(-x)) in float32), then the down product.
        std::vector<float> g(size_t(m) * I), u(size_t(m) * I), want(size_t(m) * H);
        const Backend::Product gate_up[] = {{gate.get(), mlp.bgate, g.data()}, {up.get(), mlp.bup, u.data()}};
        be->matmul_many(x.data(), m, gate_up);
        cpu::silu_mul(g.data(), u.data(), int64_t(m) * I);
        be->matmul(g.data(), m, *down, mlp.bdown, want.data());

        std::vector<float> got(size_t(m) * H, -1.0f);
        be->gated_mlp(x.data(), m, mlp, got.data());
        EXPECT_EQ(got, want) << be->name() << " m=" << m << " H=" << H << " I=" << I << " biases " << biases;
        // In place, as a decoder may call it.
        be->gated_mlp(x.data(), m, mlp, x.data());
        EXPECT_EQ(x, want) << be->name() << " in place, m=" << m << " H=" << H << " I=" << I;
      }
}

}  // namespace
