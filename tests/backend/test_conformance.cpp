// Every op of every backend against the reference backend (plain loops, double sums), by
// normalised mean squared error NMSE = sum (got - want)^2 / sum want^2, on awkward shapes: head
// dims 8..256, GQA and MQA, sliding windows, sequences of 1 and odd lengths, vocabularies that do
// not fill the head's chunks, targets at both ends, large logits. Float32 backends must agree to
// float32 rounding; bf16 ones to bf16 rounding. Backends: cpu (f32, bf16) here, cuda (bf16, f32)
// where this build has it and a GPU is present (run on the GPU machine; skipped elsewhere).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "backend/host_convert.h"

namespace {

using namespace ziq::backend;

struct BackendCase {
  std::string kind, precision;
};

std::string case_name(const testing::TestParamInfo<BackendCase>& info) {
  return info.param.kind + "_" + info.param.precision;
}

std::vector<BackendCase> cases() {
  return {{"cpu", "f32"}, {"cpu", "bf16"}, {"cuda", "f32"}, {"cuda", "bf16"}};
}

double nmse(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return den > 0 ? num / den : num;
}

std::vector<float> randn(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& f : v) f = d(rng) * scale;
  return v;
}

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = f32_to_bf16_bits(v[i]);
  return out;
}

// A backend under test and the reference, fed the same inputs.
class Conformance : public testing::TestWithParam<BackendCase> {
 protected:
  void SetUp() override {
    const BackendCase& c = GetParam();
    if (c.kind == "cuda" && cuda_device_count() == 0) GTEST_SKIP() << "no CUDA backend or GPU here";
    if (c.kind == "cpu") be_ = make_cpu_backend(2, c.precision);
    if (c.kind == "cuda") be_ = make_cuda_backend(0, c.precision);
    ref_ = make_reference_backend();
    bf16_ = be_->precision() == "bf16";
  }

  // Bars: float32 arithmetic in another order, or bf16 inputs to products / bf16 activations.
  double bar() const { return bf16_ ? 3e-4 : 1e-10; }

  // An activation of the backend's type filled from float32 values (rounded to bf16 when the
  // backend keeps activations in bf16), and read back as float32.
  std::unique_ptr<Buffer> act(Backend& b, const std::vector<float>& v) {
    auto buf = b.alloc(std::max<size_t>(1, v.size() * b.act_bytes()));
    if (b.act_type() == DType::bf16) {
      const std::vector<uint16_t> h = to_bf16(v);
      b.upload(buf->data(), h.data(), h.size() * 2);
    } else {
      b.upload(buf->data(), v.data(), v.size() * 4);
    }
    return buf;
  }
  std::vector<float> read_act(Backend& b, Buffer& buf, size_t n) {
    std::vector<float> v(n);
    if (b.act_type() == DType::bf16) {
      std::vector<uint16_t> h(n);
      b.download(h.data(), buf.data(), n * 2);
      for (size_t i = 0; i < n; ++i) v[i] = bf16_bits_to_f32(h[i]);
    } else {
      b.download(v.data(), buf.data(), n * 4);
    }
    return v;
  }
  std::unique_ptr<Buffer> f32(Backend& b, const std::vector<float>& v) {
    auto buf = b.alloc(std::max<size_t>(1, v.size() * 4));
    b.upload(buf->data(), v.data(), v.size() * 4);
    return buf;
  }
  std::vector<float> read_f32(Backend& b, Buffer& buf, size_t n) {
    std::vector<float> v(n);
    b.download(v.data(), buf.data(), n * 4);
    return v;
  }
  // Inputs the reference sees: what the backend really holds (bf16-rounded activations).
  std::vector<float> as_held(const std::vector<float>& v) const {
    if (be_->act_type() != DType::bf16) return v;
    std::vector<float> r(v.size());
    for (size_t i = 0; i < v.size(); ++i) r[i] = bf16_bits_to_f32(f32_to_bf16_bits(v[i]));
    return r;
  }

  std::unique_ptr<Backend> be_, ref_;
  bool bf16_ = false;
};

// A batch whose sequences have these lengths; every row scored, targets in [0, vocab).
struct BatchData {
  std::vector<int32_t> ids, rope_rows, score_rows, targets;
  std::vector<SeqSpan> seqs;
  Batch batch() const { return {ids, rope_rows, seqs, score_rows, targets}; }
};

BatchData make_batch(std::vector<int64_t> lengths, int64_t vocab, std::mt19937& rng) {
  BatchData b;
  std::uniform_int_distribution<int32_t> id(0, int32_t(vocab - 1));
  for (int64_t len : lengths) {
    b.seqs.push_back({int64_t(b.ids.size()), len});
    for (int64_t i = 0; i < len; ++i) {
      b.rope_rows.push_back(int32_t(i));
      b.score_rows.push_back(int32_t(b.ids.size()));
      b.ids.push_back(id(rng));
      b.targets.push_back(id(rng));
    }
  }
  // Targets at both ends of the vocabulary.
  if (!b.targets.empty()) {
    b.targets.front() = 0;
    b.targets.back() = int32_t(vocab - 1);
  }
  return b;
}

TEST_P(Conformance, RandomMatrixIsTheSameEverywhere) {
  auto a = be_->random_matrix(37, 29, 1234, 0.5f);
  auto b = ref_->random_matrix(37, 29, 1234, 0.5f);
  // Read back through a product with the identity: y = I w^T = w^T... instead use embed rows.
  std::mt19937 rng(1);
  BatchData bd = make_batch({37}, 37, rng);
  for (int32_t i = 0; i < 37; ++i) bd.ids[i] = i;
  be_->set_batch(bd.batch());
  ref_->set_batch(bd.batch());
  auto h1 = be_->alloc(37 * 29 * 4), h2 = ref_->alloc(37 * 29 * 4);
  be_->embed(*a, h1->f32());
  ref_->embed(*b, h2->f32());
  EXPECT_EQ(read_f32(*be_, *h1, 37 * 29), read_f32(*ref_, *h2, 37 * 29));
}

TEST_P(Conformance, EmbedNormAddNorm) {
  std::mt19937 rng(2);
  for (int64_t H : {8, 33, 256, 4096}) {
    const int64_t vocab = 300;
    BatchData bd = make_batch({5, 1, 17}, vocab, rng);
    const int64_t M = int64_t(bd.ids.size());
    for (DType wt : {DType::f32, DType::bf16, DType::f16}) {
      std::vector<float> table = randn(size_t(vocab * H), rng);
      std::vector<uint16_t> t16(table.size());
      if (wt == DType::bf16) t16 = to_bf16(table);
      if (wt == DType::f16)
        for (size_t i = 0; i < table.size(); ++i) {  // values exactly representable in f16: small integers / 64
          table[i] = std::round(table[i] * 64) / 64;
          const float f = table[i];
          // f16 bits of f (|f| < 8, multiples of 1/64: exact)
          uint32_t u;
          std::memcpy(&u, &f, 4);
          const uint32_t sign = (u >> 16) & 0x8000;
          if (f == 0) {
            t16[i] = uint16_t(sign);
            continue;
          }
          const int e = int((u >> 23) & 0xFF) - 127 + 15;
          t16[i] = uint16_t(sign | (e << 10) | ((u >> 13) & 0x3FF));
        }
      const HostMatrix hm{wt, wt == DType::f32 ? static_cast<const void*>(table.data()) : t16.data(), vocab, H, H};
      auto tb = be_->load_matrix(hm), tr = ref_->load_matrix(hm);
      be_->set_batch(bd.batch());
      ref_->set_batch(bd.batch());
      auto hb = be_->alloc(M * H * 4), hr = ref_->alloc(M * H * 4);
      be_->embed(*tb, hb->f32());
      ref_->embed(*tr, hr->f32());
      // Exact. The CUDA backend in bf16 holds every matrix in bf16 (f32 and f16 tables rounded at
      // load); the CPU backend keeps the checkpoint's dtype (its bf16 rounds product inputs only).
      std::vector<float> want = read_f32(*ref_, *hr, M * H);
      if (bf16_ && GetParam().kind == "cuda")
        for (float& f : want) f = bf16_bits_to_f32(f32_to_bf16_bits(f));
      EXPECT_EQ(read_f32(*be_, *hb, M * H), want) << "embed H " << H;
      ref_->upload(hr->data(), want.data(), want.size() * 4);  // both go on from the same h

      const std::vector<float> w = randn(size_t(H), rng), delta = randn(size_t(M * H), rng);
      auto wb = be_->load_vector(w.data(), 1, H), wr = ref_->load_vector(w.data(), 1, H);
      auto yb = be_->alloc(M * H * be_->act_bytes()), yr = ref_->alloc(M * H * 4);
      be_->norm(NormKind::rms, hb->f32(), *wb, nullptr, M, 1e-5f, yb->data());
      ref_->norm(NormKind::rms, hr->f32(), *wr, nullptr, M, 1e-5f, yr->data());
      EXPECT_LT(nmse(read_act(*be_, *yb, M * H), read_f32(*ref_, *yr, M * H)), bf16_ ? 1e-5 : 1e-12) << "norm H " << H;

      auto db = act(*be_, delta), dr = f32(*ref_, as_held(delta));
      be_->add_norm(NormKind::rms, hb->f32(), db->data(), *wb, nullptr, M, 1e-6f, yb->data());
      ref_->add_norm(NormKind::rms, hr->f32(), dr->data(), *wr, nullptr, M, 1e-6f, yr->data());
      EXPECT_LT(nmse(read_f32(*be_, *hb, M * H), read_f32(*ref_, *hr, M * H)), 1e-13) << "add_norm's h, H " << H;
      EXPECT_LT(nmse(read_act(*be_, *yb, M * H), read_f32(*ref_, *yr, M * H)), bf16_ ? 1e-5 : 1e-12)
          << "add_norm's y, H " << H;
      be_->add(hb->f32(), db->data(), M, H);
      ref_->add(hr->f32(), dr->data(), M, H);
      EXPECT_LT(nmse(read_f32(*be_, *hb, M * H), read_f32(*ref_, *hr, M * H)), 1e-13) << "add, H " << H;
    }
  }
}

TEST_P(Conformance, MatmulManyAndGatedMlp) {
  std::mt19937 rng(3);
  struct Shape {
    int64_t m, k, n1, n2;
  };
  for (Shape s : {Shape{1, 16, 8, 8}, Shape{37, 96, 80, 16}, Shape{130, 64, 256, 64}, Shape{513, 257, 33, 95}}) {
    for (DType wt : {DType::bf16, DType::f32}) {
      for (bool bias : {false, true}) {
        const std::vector<float> x = randn(size_t(s.m * s.k), rng);
        std::vector<float> w1 = randn(size_t(s.n1 * s.k), rng, 0.1f), w2 = randn(size_t(s.n2 * s.k), rng, 0.1f);
        const std::vector<uint16_t> w1b = to_bf16(w1), w2b = to_bf16(w2);
        if (wt == DType::bf16) {  // the reference sees the same bf16 values
          for (size_t i = 0; i < w1.size(); ++i) w1[i] = bf16_bits_to_f32(w1b[i]);
          for (size_t i = 0; i < w2.size(); ++i) w2[i] = bf16_bits_to_f32(w2b[i]);
        }
        const HostMatrix m1{wt, wt == DType::bf16 ? static_cast<const void*>(w1b.data()) : w1.data(), s.n1, s.k, s.k};
        const HostMatrix m2{wt, wt == DType::bf16 ? static_cast<const void*>(w2b.data()) : w2.data(), s.n2, s.k, s.k};
        const std::vector<float> b1 = randn(size_t(s.n1), rng), b2 = randn(size_t(s.n2), rng);
        auto t1 = be_->load_matrix(m1), t2 = be_->load_matrix(m2), r1 = ref_->load_matrix(m1), r2 = ref_->load_matrix(m2);
        auto tb1 = be_->load_vector(b1.data(), 1, s.n1), tb2 = be_->load_vector(b2.data(), 1, s.n2);
        auto rb1 = ref_->load_vector(b1.data(), 1, s.n1), rb2 = ref_->load_vector(b2.data(), 1, s.n2);
        auto xb = act(*be_, x), xr = f32(*ref_, as_held(x));
        auto y1 = be_->alloc(s.m * s.n1 * be_->act_bytes()), y2 = be_->alloc(s.m * s.n2 * be_->act_bytes());
        auto z1 = ref_->alloc(s.m * s.n1 * 4), z2 = ref_->alloc(s.m * s.n2 * 4);
        const Backend::Product pb[] = {{t1.get(), bias ? tb1.get() : nullptr, y1->data()},
                                       {t2.get(), bias ? tb2.get() : nullptr, y2->data()}};
        const Backend::Product pr[] = {{r1.get(), bias ? rb1.get() : nullptr, z1->data()},
                                       {r2.get(), bias ? rb2.get() : nullptr, z2->data()}};
        be_->matmul_many(xb->data(), s.m, pb);
        ref_->matmul_many(xr->data(), s.m, pr);
        const std::string where = "m " + std::to_string(s.m) + " k " + std::to_string(s.k) + (bias ? " bias" : "");
        EXPECT_LT(nmse(read_act(*be_, *y1, s.m * s.n1), read_f32(*ref_, *z1, s.m * s.n1)), bar()) << where;
        EXPECT_LT(nmse(read_act(*be_, *y2, s.m * s.n2), read_f32(*ref_, *z2, s.m * s.n2)), bar()) << where;
      }
    }
  }
  // Stacked parts (a fused product) and a column slice of a wider matrix.
  const int64_t k = 48, m = 20;
  std::vector<float> wide = randn(size_t(30 * 2 * k), rng);
  const HostMatrix parts[] = {{DType::f32, wide.data(), 10, k, 2 * k}, {DType::f32, wide.data() + 10 * 2 * k + k, 20, k, 2 * k}};
  auto tb = be_->load_matrix(parts), tr = ref_->load_matrix(parts);
  EXPECT_EQ(tb->rows, 30);
  const std::vector<float> x = randn(size_t(m * k), rng);
  auto xb = act(*be_, x), xr = f32(*ref_, as_held(x));
  auto yb = be_->alloc(m * 30 * be_->act_bytes()), yr = ref_->alloc(m * 30 * 4);
  be_->matmul(xb->data(), m, *tb, nullptr, yb->data());
  ref_->matmul(xr->data(), m, *tr, nullptr, yr->data());
  EXPECT_LT(nmse(read_act(*be_, *yb, m * 30), read_f32(*ref_, *yr, m * 30)), bar()) << "stacked, strided";

  for (auto [M, H, I] : {std::tuple<int64_t, int64_t, int64_t>{7, 32, 48}, {300, 64, 176}, {2100, 16, 40}}) {
    const std::vector<uint16_t> g = to_bf16(randn(size_t(I * H), rng, 0.2f)), u = to_bf16(randn(size_t(I * H), rng, 0.2f)),
                                d = to_bf16(randn(size_t(H * I), rng, 0.2f));
    const HostMatrix hg{DType::bf16, g.data(), I, H, H}, hu{DType::bf16, u.data(), I, H, H}, hd{DType::bf16, d.data(), H, I, I};
    auto bg = be_->load_matrix(hg), bu = be_->load_matrix(hu), bd = be_->load_matrix(hd);
    auto rg = ref_->load_matrix(hg), ru = ref_->load_matrix(hu), rd = ref_->load_matrix(hd);
    const std::vector<float> x = randn(size_t(M * H), rng);
    auto xb = act(*be_, x), xr = f32(*ref_, as_held(x));
    auto yb = be_->alloc(M * H * be_->act_bytes()), yr = ref_->alloc(M * H * 4);
    for (Backend::Act a : {Backend::Act::silu, Backend::Act::gelu_tanh}) {
      be_->gated_mlp(xb->data(), M, {bg.get(), bu.get(), bd.get(), nullptr, nullptr, nullptr, a}, yb->data());
      ref_->gated_mlp(xr->data(), M, {rg.get(), ru.get(), rd.get(), nullptr, nullptr, nullptr, a}, yr->data());
      EXPECT_LT(nmse(read_act(*be_, *yb, M * H), read_f32(*ref_, *yr, M * H)), bf16_ ? 1e-3 : 1e-10)
          << "mlp M " << M << (a == Backend::Act::silu ? " silu" : " gelu_tanh");
    }
  }
}

// The in-place norm of activations (q/k norms per head or over the full width, post-norms), the
// f32 -> activation copy, and the embedding scale.
TEST_P(Conformance, NormActToActScale) {
  std::mt19937 rng(7);
  for (auto [rows, n] : {std::pair<int64_t, int64_t>{1, 8}, {37, 64}, {300, 128}, {5, 2048}, {9, 33}}) {
    const std::vector<float> x = randn(size_t(rows * n), rng, 3.0f), w = randn(size_t(n), rng);
    auto wb = be_->load_vector(w.data(), 1, n), wr = ref_->load_vector(w.data(), 1, n);
    auto xb = act(*be_, x), xr = f32(*ref_, as_held(x));
    be_->norm_act(NormKind::rms, xb->data(), *wb, rows, 1e-6f);
    ref_->norm_act(NormKind::rms, xr->data(), *wr, rows, 1e-6f);
    EXPECT_LT(nmse(read_act(*be_, *xb, rows * n), read_f32(*ref_, *xr, rows * n)), bf16_ ? 1e-5 : 1e-12)
        << "norm_act rows " << rows << " n " << n;

    auto hb = f32(*be_, x);
    auto yb = be_->alloc(rows * n * be_->act_bytes());
    be_->to_act(hb->f32(), rows * n, yb->data());
    EXPECT_EQ(read_act(*be_, *yb, rows * n), as_held(x)) << "to_act";
    be_->scale(hb->f32(), rows * n, 2.5f);
    std::vector<float> want = x;
    for (float& f : want) f *= 2.5f;
    EXPECT_EQ(read_f32(*be_, *hb, rows * n), want) << "scale";
  }
}

TEST_P(Conformance, Rope) {
  std::mt19937 rng(4);
  for (auto [heads, D, rot] : {std::tuple<int64_t, int64_t, int64_t>{4, 8, 8}, {2, 64, 64}, {3, 128, 32}, {1, 256, 256}}) {
    BatchData bd = make_batch({9, 1, 40}, 10, rng);
    const int64_t M = int64_t(bd.ids.size()), half = rot / 2;
    std::vector<float> cos(size_t(64 * half)), sin(cos.size());
    for (int64_t p = 0; p < 64; ++p)
      for (int64_t j = 0; j < half; ++j) {
        const double a = double(p) * std::pow(10000.0, -2.0 * double(j) / double(rot));
        cos[p * half + j] = float(std::cos(a));
        sin[p * half + j] = float(std::sin(a));
      }
    for (size_t i = 0; i < bd.rope_rows.size(); ++i) bd.rope_rows[i] = int32_t((i * 7) % 64);
    auto cb = be_->load_vector(cos.data(), 64, half), sb = be_->load_vector(sin.data(), 64, half);
    auto cr = ref_->load_vector(cos.data(), 64, half), sr = ref_->load_vector(sin.data(), 64, half);
    be_->set_batch(bd.batch());
    ref_->set_batch(bd.batch());
    const std::vector<float> x = randn(size_t(M * heads * D), rng);
    auto xb = act(*be_, x), xr = f32(*ref_, as_held(x));
    be_->rope(xb->data(), heads, D, rot, *cb, *sb);
    ref_->rope(xr->data(), heads, D, rot, *cr, *sr);
    EXPECT_LT(nmse(read_act(*be_, *xb, M * heads * D), read_f32(*ref_, *xr, M * heads * D)), bf16_ ? 1e-5 : 1e-13)
        << "heads " << heads << " head_dim " << D << " rot " << rot;
  }
}

TEST_P(Conformance, Attention) {
  std::mt19937 rng(5);
  struct Shape {
    int64_t heads, kv, D, window;
    std::vector<int64_t> lengths;
  };
  const std::vector<Shape> shapes = {
      {4, 4, 8, 0, {1, 2, 17}},         {4, 2, 16, 0, {70}},          {14, 2, 64, 0, {150, 65, 1}},
      {8, 1, 80, 0, {33, 200}},         {6, 2, 96, 16, {100, 3}},     {4, 4, 128, 0, {257}},
      {8, 8, 128, 64, {300, 129}},      {2, 1, 256, 0, {90, 1}},      {32, 8, 128, 0, {520}},
  };
  for (const Shape& s : shapes) {
    BatchData bd = make_batch(s.lengths, 10, rng);
    const int64_t M = int64_t(bd.ids.size());
    be_->set_batch(bd.batch());
    ref_->set_batch(bd.batch());
    const std::vector<float> q = randn(size_t(M * s.heads * s.D), rng), k = randn(size_t(M * s.kv * s.D), rng),
                             v = randn(size_t(M * s.kv * s.D), rng);
    auto qb = act(*be_, q), kb = act(*be_, k), vb = act(*be_, v);
    auto qr = f32(*ref_, as_held(q)), kr = f32(*ref_, as_held(k)), vr = f32(*ref_, as_held(v));
    auto ob = be_->alloc(M * s.heads * s.D * be_->act_bytes()), orr = ref_->alloc(M * s.heads * s.D * 4);
    const float scale = float(1.0 / std::sqrt(double(s.D)));
    // Without and with Gemma 2's score cap (a cap of 1.5 bends these scores, of std about 1).
    for (float softcap : {0.0f, 1.5f}) {
      be_->attention(qb->data(), kb->data(), vb->data(), ob->data(), s.heads, s.kv, s.D, scale, s.window, softcap);
      ref_->attention(qr->data(), kr->data(), vr->data(), orr->data(), s.heads, s.kv, s.D, scale, s.window, softcap);
      EXPECT_LT(nmse(read_act(*be_, *ob, M * s.heads * s.D), read_f32(*ref_, *orr, M * s.heads * s.D)),
                bf16_ ? 1e-4 : 1e-11)
          << "heads " << s.heads << "/" << s.kv << " head_dim " << s.D << " window " << s.window << " softcap "
          << softcap;
    }
  }
}

TEST_P(Conformance, GatherAndLogprobs) {
  std::mt19937 rng(6);
  for (auto [vocab, H, scale] : {std::tuple<int64_t, int64_t, float>{257, 16, 1.0f}, {1000, 64, 0.1f},
                                 {32000, 32, 0.3f}, {5003, 128, 8.0f}}) {
    BatchData bd = make_batch({3, 1, 60}, vocab, rng);
    // Score every other row.
    bd.score_rows.clear();
    bd.targets.clear();
    std::uniform_int_distribution<int32_t> id(0, int32_t(vocab - 1));
    for (int32_t r = 0; r < int32_t(bd.ids.size()); r += 2) {
      bd.score_rows.push_back(r);
      bd.targets.push_back(id(rng));
    }
    bd.targets.front() = 0;
    bd.targets.back() = int32_t(vocab - 1);
    const int64_t M = int64_t(bd.ids.size()), S = int64_t(bd.score_rows.size());
    be_->set_batch(bd.batch());
    ref_->set_batch(bd.batch());
    const std::vector<float> h = randn(size_t(M * H), rng);
    auto hb = f32(*be_, h), hr = f32(*ref_, h);
    auto gb = be_->alloc(S * H * 4), gr = ref_->alloc(S * H * 4);
    be_->gather_scored(hb->f32(), H, gb->f32());
    ref_->gather_scored(hr->f32(), H, gr->f32());
    const std::vector<float> gathered = read_f32(*be_, *gb, S * H);
    ASSERT_EQ(gathered, read_f32(*ref_, *gr, S * H));

    // The head's input in the backend's activation type; weights bf16 as most checkpoints.
    const std::vector<uint16_t> w = to_bf16(randn(size_t(vocab * H), rng, scale));
    const HostMatrix hw{DType::bf16, w.data(), vocab, H, H};
    auto wb = be_->load_matrix(hw), wr = ref_->load_matrix(hw);
    auto xb = act(*be_, gathered), xr = f32(*ref_, as_held(gathered));
    // Without and with a final logit cap (Gemma 2); the cap of 3 bends logits of scale >= 1.
    for (float softcap : {0.0f, 3.0f}) {
      be_->logprobs(xb->data(), *wb, softcap);
      ref_->logprobs(xr->data(), *wr, softcap);
      std::vector<double> lb(S), lr(S);
      be_->download_logprobs(lb);
      ref_->download_logprobs(lr);
      double worst = 0;
      for (int64_t i = 0; i < S; ++i) {
        ASSERT_TRUE(std::isfinite(lb[i])) << i;
        worst = std::max(worst, std::abs(lb[i] - lr[i]) / (1.0 + std::abs(lr[i])));
      }
      EXPECT_LT(worst, bf16_ ? 0.05 * (1 + scale) : 2e-5 * (1 + scale))
          << "vocab " << vocab << " H " << H << " scale " << scale << " softcap " << softcap;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Conformance, testing::ValuesIn(cases()), case_name);

}  // namespace
