// The memory-bound kernels of src/backend/cuda against host references: conversions and copies
// bit for bit, norms / rope / SwiGLU in double, the head's chunked log-softmax in double. Lengths
// and strides include ones that are not multiples of 8 (the element-by-element paths) and
// misaligned pointers; outputs are poisoned with NaN first.
#include "backend/cuda/kernels.h"
#include "backend/random.h"
#include "test_util.cuh"

namespace ziq::backend::cuda::test {
namespace {

template <typename T>
class Typed : public ::testing::Test {};
using Types = ::testing::Types<float, bf16>;
TYPED_TEST_SUITE(Typed, Types);

// ---- conversions and random weights: exact -------------------------------------------------

TEST(CudaConvert, F32ToBf16BitExact) {
  std::mt19937_64 rng(1);
  for (int64_t n : {1, 7, 8, 1001, 1 << 20}) {
    std::vector<float> x = uniform(static_cast<size_t>(n) + 1, rng, -3e4f, 3e4f);
    const float specials[] = {0.f, -0.f, INFINITY, -INFINITY, 1e-40f, -3e38f, 1.00390625f, 1.01171875f};
    for (size_t i = 0; i < std::size(specials) && i < x.size(); ++i) x[i] = specials[i];
    DeviceBuffer<float> dx(x);
    for (int offset : {0, 1}) {  // offset 1: misaligned, element-by-element path
      if (offset >= n) continue;
      const int64_t len = n - offset;
      DeviceBuffer<bf16> dy(static_cast<size_t>(len));
      dy.poison();
      f32_to_bf16(dx.get() + offset, len, dy.get(), 0);
      const auto y = dy.download();
      for (int64_t i = 0; i < len; ++i) {
        const bf16 want = __float2bfloat16_rn(x[size_t(i + offset)]);
        ASSERT_EQ(std::memcmp(&y[size_t(i)], &want, 2), 0) << "n " << n << " i " << i;
      }
    }
  }
}

TEST(CudaConvert, Bf16ToF32AndF16ToBf16Exact) {
  std::mt19937_64 rng(2);
  const int64_t n = 100003;
  std::vector<uint16_t> bits(static_cast<size_t>(n));
  for (auto& b : bits) {
    b = uint16_t(rng());
    if ((b & 0x7c00) == 0x7c00) b &= 0xbfff;  // finite f16 (and bf16) patterns only
  }
  DeviceBuffer<uint16_t> dbits(bits);
  DeviceBuffer<float> f(static_cast<size_t>(n));
  f.poison();
  bf16_to_f32(reinterpret_cast<const bf16*>(dbits.get()), n, f.get(), 0);
  const auto fh = f.download();
  DeviceBuffer<bf16> b(static_cast<size_t>(n));
  b.poison();
  f16_to_bf16(dbits.get(), n, b.get(), 0);
  const auto bh = b.download();
  for (int64_t i = 0; i < n; ++i) {
    bf16 in;
    std::memcpy(&in, &bits[size_t(i)], 2);
    ASSERT_EQ(fh[size_t(i)], __bfloat162float(in)) << i;
    __half hv;
    std::memcpy(&hv, &bits[size_t(i)], 2);
    const bf16 want = __float2bfloat16_rn(__half2float(hv));
    ASSERT_EQ(std::memcmp(&bh[size_t(i)], &want, 2), 0) << i;
  }
}

TEST(CudaRandom, FillRandomMatchesHostHash) {
  const int64_t n = 100003;
  const uint64_t seed = 0x5eed;
  const float scale = 0.02f;
  DeviceBuffer<bf16> w(static_cast<size_t>(n));
  w.poison();
  fill_random_bf16(w.get(), n, seed, scale, 0);
  const auto got = w.download();
  for (int64_t i = 0; i < n; ++i) {
    const bf16 want = __float2bfloat16_rn(scale * random_uniform(seed, uint64_t(i)));
    ASSERT_EQ(std::memcmp(&got[size_t(i)], &want, 2), 0) << i;
  }
}

// ---- embedding, residual add, gather: exact --------------------------------------------------

TEST(CudaEmbed, RowsExactForBothTableTypes) {
  std::mt19937_64 rng(3);
  const int64_t vocab = 1000;
  for (int64_t cols : {8, 100, 4096}) {
    std::vector<float> table = representable<bf16>(uniform(static_cast<size_t>(vocab * cols), rng));
    std::vector<int32_t> ids = {0, int32_t(vocab - 1), 5, 5, 999, 17, 1, 500, 3};
    for (int i = 0; i < 40; ++i) ids.push_back(int32_t(rng() % vocab));
    const int64_t n = int64_t(ids.size());
    DeviceBuffer<int32_t> did(ids);
    for (bool as_bf16 : {false, true}) {
      DeviceBuffer<float> tf(table);
      DeviceBuffer<bf16> tb(convert<bf16>(table));
      DeviceBuffer<float> out(static_cast<size_t>(n * cols));
      out.poison();
      embed(as_bf16 ? static_cast<const void*>(tb.get()) : tf.get(), as_bf16, cols, did.get(), n, out.get(), 0);
      const auto got = out.download();
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < cols; ++c)
          ASSERT_EQ(got[size_t(r * cols + c)], table[size_t(ids[size_t(r)] * cols + c)])
              << "cols " << cols << " bf16 " << as_bf16 << " row " << r;
    }
  }
}

TYPED_TEST(Typed, AddRowsExact) {
  using T = TypeParam;
  std::mt19937_64 rng(4);
  for (auto [m, n, ld] : {std::tuple<int64_t, int64_t, int64_t>{7, 4096, 4096}, {5, 896, 904}, {3, 100, 103}}) {
    const auto h = uniform(static_cast<size_t>(m * n), rng, -10, 10);
    const auto delta = representable<T>(uniform(static_cast<size_t>(m * ld), rng, -10, 10));
    DeviceBuffer<float> dh(h);
    DeviceBuffer<T> dd(convert<T>(delta));
    add_rows(dh.get(), dd.get(), ld, m, n, 0);
    const auto got = dh.download();
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c)
        ASSERT_EQ(got[size_t(r * n + c)], h[size_t(r * n + c)] + delta[size_t(r * ld + c)]) << r << "," << c;
  }
}

TYPED_TEST(Typed, GatherRowsExact) {
  using T = TypeParam;
  std::mt19937_64 rng(5);
  for (auto [cols, ldx] : {std::pair<int64_t, int64_t>{4096, 4096}, {896, 1000}, {13, 17}}) {
    const int64_t rows_in = 300;
    const auto x = convert<T>(uniform(static_cast<size_t>(rows_in * ldx), rng));
    std::vector<int32_t> rows = {299, 0, 1, 1, 150};
    for (int i = 0; i < 60; ++i) rows.push_back(int32_t(rng() % rows_in));
    const int64_t n = int64_t(rows.size());
    DeviceBuffer<T> dx(x);
    DeviceBuffer<int32_t> dr(rows);
    DeviceBuffer<T> out(static_cast<size_t>(n * cols));
    out.poison();
    gather_rows(dx.get(), ldx, dr.get(), n, cols, out.get(), 0);
    const auto got = out.download();
    for (int64_t r = 0; r < n; ++r)
      ASSERT_EQ(std::memcmp(&got[size_t(r * cols)], &x[size_t(rows[size_t(r)] * ldx)], size_t(cols) * sizeof(T)), 0)
          << "row " << r;
  }
}

// ---- RMSNorm, fused add + RMSNorm ------------------------------------------------------------

// y = x / sqrt(mean(x^2) + eps) * w in double.
std::vector<double> rmsnorm_ref(const std::vector<float>& x, const std::vector<float>& w, int64_t m, int64_t n,
                                double eps) {
  std::vector<double> y(static_cast<size_t>(m * n));
  for (int64_t r = 0; r < m; ++r) {
    double ss = 0;
    for (int64_t c = 0; c < n; ++c) ss += double(x[size_t(r * n + c)]) * x[size_t(r * n + c)];
    const double inv = 1.0 / std::sqrt(ss / double(n) + eps);
    for (int64_t c = 0; c < n; ++c) y[size_t(r * n + c)] = x[size_t(r * n + c)] * inv * w[size_t(c)];
  }
  return y;
}

template <typename T>
void expect_rows_close(const std::vector<T>& got_t, const std::vector<double>& ref, const std::string& what) {
  const auto got = to_floats(got_t);
  if constexpr (std::is_same_v<T, float>) {
    const Errors e = errors(got, ref);
    EXPECT_ERRORS(e, 1e-12, 1e-6, what);
  } else {
    EXPECT_EQ(bf16_ulp_misses(got, ref), 0u) << what;
  }
}

const std::vector<std::pair<int64_t, int64_t>> kNormShapes = {{1, 8}, {7, 896}, {33, 4096}, {3, 5120},
                                                              {2, 8192}, {5, 100}, {2, 20000}};

TYPED_TEST(Typed, RmsNorm) {
  using T = TypeParam;
  std::mt19937_64 rng(6);
  for (auto [m, n] : kNormShapes) {
    auto x = uniform(static_cast<size_t>(m * n), rng, -4, 4);
    x[0] = 1e4f;  // an outlier in the first row
    const auto w = uniform(static_cast<size_t>(n), rng, 0.5f, 1.5f);
    DeviceBuffer<float> dx(x), dw(w);
    DeviceBuffer<T> dy(static_cast<size_t>(m * n));
    dy.poison();
    rmsnorm(dx.get(), dw.get(), m, n, 1e-6f, dy.get(), 0);
    expect_rows_close(dy.download(), rmsnorm_ref(x, w, m, n, 1e-6), "rmsnorm " + std::to_string(n));
    EXPECT_TRUE(same_bits(dx.download(), x)) << "x unchanged";
  }
}

template <typename T, typename D>
void check_add_rmsnorm(std::mt19937_64& rng) {
  for (auto [m, n] : kNormShapes) {
    for (int64_t pad : {int64_t(0), int64_t(8), int64_t(3)}) {
      const int64_t ld = n + pad;
      const auto h = uniform(static_cast<size_t>(m * n), rng, -4, 4);
      const auto delta = representable<D>(uniform(static_cast<size_t>(m * ld), rng, -4, 4));
      const auto w = uniform(static_cast<size_t>(n), rng, 0.5f, 1.5f);
      std::vector<float> h_new(h.size());
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) h_new[size_t(r * n + c)] = h[size_t(r * n + c)] + delta[size_t(r * ld + c)];
      DeviceBuffer<float> dh(h), dw(w);
      DeviceBuffer<D> dd(convert<D>(delta));
      DeviceBuffer<T> dy(static_cast<size_t>(m * n));
      dy.poison();
      add_rmsnorm(dh.get(), dd.get(), ld, dw.get(), m, n, 1e-5f, dy.get(), 0);
      const std::string what = "add_rmsnorm n " + std::to_string(n) + " ld " + std::to_string(ld);
      EXPECT_TRUE(same_bits(dh.download(), h_new)) << what << ": h += delta";
      expect_rows_close(dy.download(), rmsnorm_ref(h_new, w, m, n, 1e-5), what);
    }
  }
}

TEST(CudaNorm, AddRmsNormAllTypePairs) {
  std::mt19937_64 rng(7);
  check_add_rmsnorm<float, float>(rng);
  check_add_rmsnorm<bf16, float>(rng);
  check_add_rmsnorm<bf16, bf16>(rng);
}

// ---- rotary embedding ------------------------------------------------------------------------

TYPED_TEST(Typed, Rope) {
  using T = TypeParam;
  std::mt19937_64 rng(8);
  struct Case {
    int64_t head_dim, rot_dim, n_heads, col0, extra;
  };
  // Full rotation; partial rotation (rot_dim < head_dim); a column slice of a fused qkv row;
  // half = 12 and 20: element-by-element paths.
  for (const Case& c : {Case{64, 64, 4, 0, 0}, Case{128, 128, 3, 256, 8}, Case{80, 32, 2, 0, 8},
                        Case{96, 24, 2, 8, 0}, Case{128, 40, 2, 0, 0}}) {
    const int64_t m = 37, half = c.rot_dim / 2, positions = 4096;
    const int64_t ld = c.col0 + c.n_heads * c.head_dim + c.extra;
    const auto x = representable<T>(uniform(static_cast<size_t>(m * ld), rng, -2, 2));
    std::vector<float> cs(static_cast<size_t>(positions * half)), sn(cs.size());
    for (int64_t p = 0; p < positions; ++p)
      for (int64_t j = 0; j < half; ++j) {
        const double ang = double(p) * std::pow(10000.0, -2.0 * double(j) / double(c.rot_dim));
        cs[size_t(p * half + j)] = float(std::cos(ang));
        sn[size_t(p * half + j)] = float(std::sin(ang));
      }
    std::vector<int32_t> trow(static_cast<size_t>(m));
    for (auto& r : trow) r = int32_t(rng() % positions);
    trow[0] = 0;
    trow[1] = int32_t(positions - 1);
    DeviceBuffer<T> dx(convert<T>(x));
    DeviceBuffer<float> dc(cs), ds(sn);
    DeviceBuffer<int32_t> dt(trow);
    rope(dx.get(), ld, c.col0, m, c.n_heads, c.head_dim, c.rot_dim, dt.get(), dc.get(), ds.get(), 0);
    const auto got = to_floats(dx.download());
    std::vector<double> ref(x.begin(), x.end());
    for (int64_t r = 0; r < m; ++r)
      for (int64_t h = 0; h < c.n_heads; ++h)
        for (int64_t j = 0; j < half; ++j) {
          const size_t lo = size_t(r * ld + c.col0 + h * c.head_dim + j), hi = lo + size_t(half);
          const double co = cs[size_t(trow[size_t(r)] * half + j)], si = sn[size_t(trow[size_t(r)] * half + j)];
          ref[lo] = x[lo] * co - double(x[hi]) * si;
          ref[hi] = x[hi] * co + double(x[lo]) * si;
        }
    const std::string what = "rope head_dim " + std::to_string(c.head_dim) + " rot " + std::to_string(c.rot_dim);
    if constexpr (std::is_same_v<T, float>) {
      const Errors e = errors(got, ref);
      EXPECT_ERRORS(e, 1e-12, 1e-6, what);
    } else {
      EXPECT_EQ(bf16_ulp_misses(got, ref), 0u) << what;
    }
    // Columns outside the rotated pairs are untouched.
    size_t changed = 0;
    for (int64_t r = 0; r < m; ++r)
      for (int64_t col = 0; col < ld; ++col) {
        const int64_t rel = col - c.col0;
        const bool rotated = rel >= 0 && rel < c.n_heads * c.head_dim && rel % c.head_dim < c.rot_dim;
        if (!rotated && got[size_t(r * ld + col)] != x[size_t(r * ld + col)]) ++changed;
      }
    EXPECT_EQ(changed, 0u) << what;
  }
}

// ---- SwiGLU ----------------------------------------------------------------------------------

TYPED_TEST(Typed, SiluMul) {
  using T = TypeParam;
  std::mt19937_64 rng(9);
  for (auto [m, I, pad] : {std::tuple<int64_t, int64_t, int64_t>{33, 4864, 0}, {5, 11008, 8}, {3, 100, 5}}) {
    const int64_t ld = 2 * I + pad;
    auto gu = representable<T>(uniform(static_cast<size_t>(m * ld), rng, -8, 8));
    gu[0] = -80.f;  // silu of large negative and positive gates
    gu[1] = 80.f;
    gu[2] = 0.f;
    DeviceBuffer<T> dg(convert<T>(gu));
    DeviceBuffer<T> da(static_cast<size_t>(m * I));
    da.poison();
    silu_mul(dg.get(), ld, m, I, da.get(), 0);
    std::vector<double> ref(static_cast<size_t>(m * I));
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < I; ++j) {
        const double g = gu[size_t(r * ld + j)], u = gu[size_t(r * ld + I + j)];
        ref[size_t(r * I + j)] = g / (1.0 + std::exp(-g)) * u;
      }
    const auto got = to_floats(da.download());
    const std::string what = "silu_mul I " + std::to_string(I);
    if constexpr (std::is_same_v<T, float>) {
      size_t miss = 0;  // each element within 4 float ulps (relative 5e-7)
      for (size_t i = 0; i < ref.size(); ++i)
        if (!(std::fabs(got[i] - ref[i]) <= 5e-7 * std::fabs(ref[i]) + 1e-37)) ++miss;
      EXPECT_EQ(miss, 0u) << what;
    } else {
      EXPECT_EQ(bf16_ulp_misses(got, ref), 0u) << what;
    }
  }
}

// ---- the head: chunked log-softmax and target gather -----------------------------------------

struct HeadCase {
  int64_t vocab, chunk, m;
  bool separate;  // each chunk its own [m, nv] buffer (ld = nv), else slices of one [m, vocab]
};

void check_head(const HeadCase& hc, std::mt19937_64& rng) {
  const int64_t V = hc.vocab, m = hc.m;
  std::normal_distribution<float> nd(0.f, 3.f);
  std::vector<float> logits(static_cast<size_t>(m * V));
  for (auto& x : logits) x = nd(rng);
  std::vector<int32_t> targets(static_cast<size_t>(m));
  for (auto& t : targets) t = int32_t(rng() % V);
  // Edges: first and last token, both sides of each chunk boundary.
  const int32_t edges[] = {0, int32_t(V - 1), int32_t(hc.chunk - 1), int32_t(std::min(hc.chunk, V - 1)),
                           int32_t(V / hc.chunk * hc.chunk - 1)};
  for (size_t i = 0; i < std::size(edges) && i < size_t(m); ++i) targets[i] = edges[i];
  if (m > 8) {
    // Extreme rows: a huge spread, one dominant logit, all equal, the target far below the max.
    for (int64_t c = 0; c < V; ++c) logits[size_t(5 * V + c)] = float(c % 2 ? 1e4 : -1e4) * float(c % 7) / 7.f;
    for (int64_t c = 0; c < V; ++c) logits[size_t(6 * V + c)] = c == V / 2 ? 3e4f : 0.f;
    for (int64_t c = 0; c < V; ++c) logits[size_t(7 * V + c)] = 42.f;
    logits[size_t(8 * V + targets[8])] = -1e4f;
    logits[size_t(8 * V + (targets[8] + 1) % V)] = 1e4f;
  }
  const int chunks = int((V + hc.chunk - 1) / hc.chunk);
  DeviceBuffer<float> dl(logits);
  DeviceBuffer<int32_t> dt(targets);
  DeviceBuffer<float> stats(static_cast<size_t>(chunks * m * 2)), tl(static_cast<size_t>(m));
  DeviceBuffer<double> out(static_cast<size_t>(m));
  stats.poison();
  tl.poison();
  out.poison();
  std::vector<std::unique_ptr<DeviceBuffer<float>>> parts;
  for (int c = 0; c < chunks; ++c) {
    const int64_t v0 = int64_t(c) * hc.chunk, nv = std::min(hc.chunk, V - v0);
    if (hc.separate) {
      std::vector<float> part(static_cast<size_t>(m * nv));
      for (int64_t r = 0; r < m; ++r)
        std::copy_n(&logits[size_t(r * V + v0)], nv, &part[size_t(r * nv)]);
      parts.push_back(std::make_unique<DeviceBuffer<float>>(part));
      logits_chunk_stats(parts.back()->get(), nv, m, nv, v0, c, dt.get(), stats.get(), tl.get(), 0);
    } else {
      logits_chunk_stats(dl.get() + v0, V, m, nv, v0, c, dt.get(), stats.get(), tl.get(), 0);
    }
  }
  logits_combine(stats.get(), chunks, m, tl.get(), out.get(), 0);
  const auto got = out.download();
  const auto got_tl = tl.download();
  for (int64_t r = 0; r < m; ++r) {
    double mx = -INFINITY;
    for (int64_t c = 0; c < V; ++c) mx = std::max(mx, double(logits[size_t(r * V + c)]));
    double sum = 0;
    for (int64_t c = 0; c < V; ++c) sum += std::exp(double(logits[size_t(r * V + c)]) - mx);
    const double ref = double(logits[size_t(r * V + targets[size_t(r)])]) - mx - std::log(sum);
    ASSERT_EQ(got_tl[size_t(r)], logits[size_t(r * V + targets[size_t(r)])]) << "target logit, row " << r;
    ASSERT_TRUE(std::isfinite(got[size_t(r)])) << "row " << r;
    EXPECT_NEAR(got[size_t(r)], ref, 2e-6 + 2e-7 * std::fabs(ref))
        << "vocab " << V << " chunk " << hc.chunk << " row " << r << " target " << targets[size_t(r)];
  }
}

TEST(CudaHead, ChunkedLogSoftmaxMatchesDouble) {
  std::mt19937_64 rng(10);
  for (const HeadCase& hc : {HeadCase{32000, 8192, 40, true}, HeadCase{151936, 32768, 12, false},
                             HeadCase{1000, 333, 9, false}, HeadCase{1000, 1000, 1, true},
                             HeadCase{50, 7, 300, true}, HeadCase{128256, 16384, 20, true}})
    check_head(hc, rng);
}

TEST(CudaHead, StatsIndependentOfOtherRows) {
  // A row's statistics are the same bits whatever rows surround it.
  std::mt19937_64 rng(11);
  const int64_t V = 5000, m = 17;
  const auto logits = uniform(static_cast<size_t>(m * V), rng, -20, 20);
  std::vector<int32_t> targets(static_cast<size_t>(m), 3);
  DeviceBuffer<float> dl(logits);
  DeviceBuffer<int32_t> dt(targets);
  DeviceBuffer<float> stats(static_cast<size_t>(m * 2)), tl(static_cast<size_t>(m)), s1(2), t1(1);
  logits_chunk_stats(dl.get(), V, m, V, 0, 0, dt.get(), stats.get(), tl.get(), 0);
  logits_chunk_stats(dl.get() + 9 * V, V, 1, V, 0, 0, dt.get(), s1.get(), t1.get(), 0);
  const auto all = stats.download(), one = s1.download();
  EXPECT_EQ(std::memcmp(&all[18], one.data(), 8), 0);
}

}  // namespace
}  // namespace ziq::backend::cuda::test
