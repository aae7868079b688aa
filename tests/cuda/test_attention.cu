// attention<T> against a double-precision reference on the same (for bf16: bf16-rounded) inputs,
// over packed sequences of awkward lengths, head dimensions 32..256 (and ones that are not
// multiples of 16), GQA ratios 1..8 and MQA, sliding windows; q, k and v are column slices of one
// fused buffer and the output has a padded row stride. For bf16, every tile configuration of the
// flash kernel that fits the head dimension runs too. Determinism: two runs give the same bits, and
// a sequence's rows are the same bits whether it runs alone or packed with others.
#include "backend/cuda/attention_configs.h"
#include "backend/cuda/kernels.h"
#include "test_util.cuh"

namespace ziq::backend::cuda::test {
namespace {

struct AttnCase {
  int n_heads, n_kv_heads, head_dim;
  std::vector<int64_t> lens;
  int64_t window;
  float q_scale = 1.f;  // > 1: peaky softmax
};

std::string config_name(const FlashConfig& fc) {
  std::string s = "d" + std::to_string(fc.d) + " bn" + std::to_string(fc.bn);
  if (fc.warpgroups) return s + " wgmma x" + std::to_string(fc.warpgroups) + (fc.overlap ? " overlap" : "");
  return s + " mt" + std::to_string(fc.mt);
}

std::string name(const AttnCase& c) {
  std::string s = "H" + std::to_string(c.n_heads) + "/KV" + std::to_string(c.n_kv_heads) + " d" +
                  std::to_string(c.head_dim) + " window " + std::to_string(c.window) + " lens";
  for (int64_t l : c.lens) s += " " + std::to_string(l);
  return s;
}

// Packed inputs: one fused [rows, (H + 2 KV) * d + 8] buffer holding q | k | v, as the backend's
// fused qkv product leaves them.
struct Packed {
  int64_t rows = 0, ld = 0, ldo = 0;
  std::vector<DevSeqSpan> seqs;
  std::vector<float> qkv;  // values representable in T
};

template <typename T>
Packed make_inputs(const AttnCase& c, std::mt19937_64& rng) {
  Packed p;
  for (int64_t l : c.lens) {
    p.seqs.push_back({p.rows, l});
    p.rows += l;
  }
  const int64_t d = c.head_dim;
  p.ld = (c.n_heads + 2 * c.n_kv_heads) * d + 8;
  p.ldo = c.n_heads * d + 8;
  p.qkv = uniform(static_cast<size_t>(p.rows * p.ld), rng);
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t i = 0; i < c.n_heads * d; ++i) p.qkv[size_t(r * p.ld + i)] *= c.q_scale;
  p.qkv = representable<T>(p.qkv);
  return p;
}

// Softmax(scale q k^T) v per sequence, head and row, in double; output [rows, ldo] (pad columns 0).
std::vector<double> reference(const AttnCase& c, const Packed& p, float scale) {
  const int64_t d = c.head_dim, group = c.n_heads / c.n_kv_heads;
  std::vector<double> out(static_cast<size_t>(p.rows * p.ldo), 0.0);
  std::vector<std::pair<size_t, int>> work;  // (sequence, head)
  for (size_t s = 0; s < p.seqs.size(); ++s)
    for (int h = 0; h < c.n_heads; ++h) work.emplace_back(s, h);
  parallel_for(int64_t(work.size()), [&](int64_t w) {
    const auto [s, h] = work[size_t(w)];
    const int64_t off = p.seqs[s].offset, len = p.seqs[s].length, kvh = h / group;
    std::vector<double> sc(static_cast<size_t>(len)), acc(static_cast<size_t>(d));
    for (int64_t i = 0; i < len; ++i) {
      const float* q = &p.qkv[size_t((off + i) * p.ld + h * d)];
      const int64_t j0 = c.window > 0 ? std::max<int64_t>(0, i - c.window + 1) : 0;
      double mx = -INFINITY;
      for (int64_t j = j0; j <= i; ++j) {
        const float* k = &p.qkv[size_t((off + j) * p.ld + (c.n_heads + kvh) * d)];
        double dot = 0;
        for (int64_t e = 0; e < d; ++e) dot += double(q[e]) * k[e];
        sc[size_t(j)] = dot * scale;
        mx = std::max(mx, sc[size_t(j)]);
      }
      double l = 0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = j0; j <= i; ++j) {
        const double pj = std::exp(sc[size_t(j)] - mx);
        l += pj;
        const float* v = &p.qkv[size_t((off + j) * p.ld + (c.n_heads + c.n_kv_heads + kvh) * d)];
        for (int64_t e = 0; e < d; ++e) acc[size_t(e)] += pj * v[e];
      }
      for (int64_t e = 0; e < d; ++e) out[size_t((off + i) * p.ldo + h * d + e)] = acc[size_t(e)] / l;
    }
  });
  return out;
}

// Runs attention on packed inputs (config < 0: attention<T>, else that bf16 configuration) and
// returns the whole output buffer, poisoned beforehand.
template <typename T>
std::vector<T> run(const AttnCase& c, const Packed& p, float scale, int config = -1) {
  const int64_t d = c.head_dim;
  DeviceBuffer<T> qkv(convert<T>(p.qkv));
  DeviceBuffer<T> out(static_cast<size_t>(p.rows * p.ldo));
  DeviceBuffer<DevSeqSpan> seqs(p.seqs);
  out.poison();
  int64_t max_len = 0;
  for (const auto& s : p.seqs) max_len = std::max(max_len, s.length);
  const T* q = qkv.get();
  const T* k = q + c.n_heads * d;
  const T* v = k + c.n_kv_heads * d;
  if (config < 0) {
    attention<T>(q, p.ld, k, p.ld, v, p.ld, out.get(), p.ldo, seqs.get(), int(p.seqs.size()), max_len, c.n_heads,
                 c.n_kv_heads, c.head_dim, scale, c.window, 0);
  } else {
    if constexpr (std::is_same_v<T, bf16>)
      attention_bf16_config(config, q, p.ld, k, p.ld, v, p.ld, out.get(), p.ldo, seqs.get(), int(p.seqs.size()),
                            max_len, c.n_heads, c.n_kv_heads, c.head_dim, scale, c.window, 0);
  }
  return out.download();
}

template <typename T>
void check_output(const AttnCase& c, const Packed& p, const std::vector<T>& got_t, const std::vector<double>& ref,
                  const std::string& what) {
  const int64_t width = int64_t(c.n_heads) * c.head_dim;
  std::vector<float> got;
  std::vector<double> want;
  size_t pad_written = 0;
  const auto all = to_floats(got_t);
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t i = 0; i < width; ++i) {
      got.push_back(all[size_t(r * p.ldo + i)]);
      want.push_back(ref[size_t(r * p.ldo + i)]);
    }
    for (int64_t i = width; i < p.ldo; ++i) pad_written += !std::isnan(all[size_t(r * p.ldo + i)]);
  }
  EXPECT_EQ(pad_written, 0u) << what << ": wrote past n_heads * head_dim";
  const Errors e = errors(got, want);
  if constexpr (std::is_same_v<T, float>) {
    // float32 rounds each score to ~6e-8 of its size: larger scores (q_scale), larger errors.
    EXPECT_ERRORS(e, 1e-12 * c.q_scale * c.q_scale, 2e-6 * c.q_scale, what);
  } else {
    // bf16 inputs are exact in the reference; what remains is P and the output rounded to bf16.
    EXPECT_ERRORS(e, 1e-4, 2e-2, what);
  }
  if (::testing::Test::HasFailure()) std::printf("  %s: nmse %.3g max_rel %.3g\n", what.c_str(), e.nmse, e.max_rel);
}

std::vector<AttnCase> list_cases() {
  return {
      {8, 8, 128, {1, 2, 17, 1901}, 0},           // MHA, Llama-2 head
      {8, 2, 128, {17, 1901, 2}, 0},              // GQA 4 (Llama-3 / Mistral)
      {14, 2, 64, {1901, 1, 300}, 0},             // GQA 7 (Qwen2-0.5B)
      {6, 2, 80, {2, 17, 700}, 0},                // GQA 3, d 80
      {8, 1, 96, {500, 17, 1}, 0},                // MQA, d 96
      {4, 2, 256, {1, 600, 17}, 0},               // d 256 (Gemma)
      {8, 8, 32, {1901}, 0},                      // d 32
      {10, 2, 64, {129, 64, 63, 65}, 0},          // GQA 5, block edges
      {12, 2, 64, {250, 3}, 0},                   // GQA 6
      {8, 1, 128, {1901, 17, 2}, 64},             // GQA 8, sliding window
      {4, 4, 64, {700, 5}, 5},                    // a tiny window
      {4, 2, 128, {1901}, 1000},                  // a window longer than a tile, shorter than the sequence
      {2, 2, 64, {300}, 1},                       // each query sees itself only
      {5, 5, 40, {130, 3}, 0},                    // d 40: zero-padded in a 64 kernel
      {2, 1, 120, {257}, 0},                      // d 120 in a 128 kernel
      {3, 3, 72, {90}, 33},                       // d 72 in an 80 kernel, window
      {4, 4, 128, {1901}, 0, 16.f},               // peaky softmax
  };
}

// attention<T> on each case, and for bf16 each configuration that fits (mma.sync ones, or with
// `wgmma` the wgmma ones, which need compute capability 9.0).
template <typename T>
void check_all_cases(const std::vector<AttnCase>& cases, bool wgmma = false) {
  std::mt19937_64 rng(20 + sizeof(T));
  for (const AttnCase& c : cases) {
    const Packed p = make_inputs<T>(c, rng);
    const float scale = 1.f / std::sqrt(float(c.head_dim));
    const auto ref = reference(c, p, scale);
    if (!wgmma) check_output(c, p, run<T>(c, p, scale), ref, name(c));
    if constexpr (std::is_same_v<T, bf16>) {
      for (int i = 0; i < flash_config_count(); ++i) {
        const FlashConfig fc = flash_config(i);
        if (fc.d < c.head_dim || !flash_config_supported(i) || (fc.warpgroups > 0) != wgmma) continue;
        check_output(c, p, run<T>(c, p, scale, i), ref, name(c) + " config " + config_name(fc));
      }
    }
  }
}

TEST(CudaAttention, F32MatchesDoubleReference) { check_all_cases<float>(list_cases()); }
TEST(CudaAttention, Bf16MatchesDoubleReference) { check_all_cases<bf16>(list_cases()); }

// Every head dimension (multiples of 8 up to 256, tiny ones included) on short sequences: quick
// enough for compute-sanitizer.
std::vector<AttnCase> small_cases() {
  std::vector<AttnCase> v;
  for (int d = 8; d <= 256; d += 8) v.push_back({4, 2, d, {1, 2, 17, 130}, d % 16 ? 7 : 0});
  return v;
}
TEST(CudaAttention, F32SmallShapes) { check_all_cases<float>(small_cases()); }
TEST(CudaAttention, Bf16SmallShapes) { check_all_cases<bf16>(small_cases()); }

// The wgmma kernels (not the default yet: attention_bf16.cu), on their own so that a failure there
// is told apart from the defaults'.
TEST(CudaAttention, Bf16WgmmaConfigs) {
  bool any = false;
  for (int i = 0; i < flash_config_count(); ++i) any |= flash_config(i).warpgroups > 0 && flash_config_supported(i);
  if (!any) GTEST_SKIP() << "no wgmma configuration runs on this device (compute capability 9.0 only)";
  check_all_cases<bf16>(list_cases(), true);
  check_all_cases<bf16>(small_cases(), true);
}

template <typename T>
void check_determinism() {
  std::mt19937_64 rng(30);
  const AttnCase c{8, 2, 128, {17, 1901, 2, 500}, 0};
  const Packed p = make_inputs<T>(c, rng);
  const float scale = 0.0883883f;
  const auto a = run<T>(c, p, scale), b = run<T>(c, p, scale);
  EXPECT_TRUE(same_bits(a, b)) << "two runs differ";
  // Sequence 1 alone, at row 0: the same bits as inside the pack (at row 17).
  AttnCase alone = c;
  alone.lens = {1901};
  Packed q;
  q.rows = 1901;
  q.ld = p.ld;
  q.ldo = p.ldo;
  q.seqs = {{0, 1901}};
  q.qkv.assign(p.qkv.begin() + 17 * p.ld, p.qkv.begin() + (17 + 1901) * p.ld);
  const auto s = run<T>(alone, q, scale);
  EXPECT_EQ(std::memcmp(s.data(), a.data() + 17 * p.ldo, size_t(1901 * p.ldo) * sizeof(T)), 0)
      << "a sequence's output depends on what is packed with it";
}

TEST(CudaAttention, F32Deterministic) { check_determinism<float>(); }
TEST(CudaAttention, Bf16Deterministic) { check_determinism<bf16>(); }

}  // namespace
}  // namespace ziq::backend::cuda::test
