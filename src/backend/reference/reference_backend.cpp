// The reference backend: every op as the plainest loops, float32 storage, sums in double. Slow and
// obviously right; the conformance suite (tests/backend/test_conformance.cpp) checks every op of
// every other backend against it, and the model goldens run on it too.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/backend.h"
#include "backend/host_backend.h"
#include "backend/host_convert.h"
#include "backend/random.h"
#include "core/error.h"

namespace ziq::backend {
namespace {

struct RefTensor final : Tensor {
  std::vector<float> v;  // [rows, cols]
};

struct RefBuffer final : Buffer {
  std::vector<double> storage;  // doubles: 8-byte aligned for any element type
  void* data() override { return storage.data(); }
};

const std::vector<float>& values(const Tensor& t) { return static_cast<const RefTensor&>(t).v; }

class ReferenceBackend final : public HostBackend {
 public:
  std::string name() const override { return "reference"; }
  std::string precision() const override { return "f32"; }
  DType act_type() const override { return DType::f32; }

  std::unique_ptr<Tensor> load_matrix(std::span<const HostMatrix> parts) override {
    auto t = std::make_unique<RefTensor>();
    t->rows = stacked_rows(parts);
    t->cols = parts[0].cols;
    t->v.resize(size_t(t->rows * t->cols));
    stack_to_f32(parts, t->v.data());
    return t;
  }
  std::unique_ptr<Tensor> load_vector(const float* host, int64_t rows, int64_t cols) override {
    auto t = std::make_unique<RefTensor>();
    t->rows = rows;
    t->cols = cols;
    t->v.assign(host, host + rows * cols);
    return t;
  }
  std::unique_ptr<Tensor> random_matrix(int64_t rows, int64_t cols, uint64_t seed, float scale) override {
    auto t = std::make_unique<RefTensor>();
    t->rows = rows;
    t->cols = cols;
    t->v.resize(size_t(rows * cols));
    for (size_t i = 0; i < t->v.size(); ++i)
      t->v[i] = bf16_bits_to_f32(f32_to_bf16_bits(scale * random_uniform(seed, i)));
    return t;
  }
  std::unique_ptr<Buffer> alloc(size_t bytes) override {
    auto b = std::make_unique<RefBuffer>();
    b->storage.resize((bytes + 7) / 8);
    return b;
  }

  void embed(const Tensor& table, float* h) override {
    const std::vector<float>& t = values(table);
    for (size_t i = 0; i < ids_.size(); ++i)
      std::memcpy(h + i * table.cols, t.data() + size_t(ids_[i]) * table.cols, size_t(table.cols) * 4);
  }

  void norm(NormKind, const float* h, const Tensor& w, const Tensor* b, int64_t m, float eps, void* y) override {
    const int64_t n = w.rows * w.cols;
    const std::vector<float>& wv = values(w);
    float* out = static_cast<float*>(y);
    for (int64_t i = 0; i < m; ++i) {
      double ss = 0;
      for (int64_t j = 0; j < n; ++j) ss += double(h[i * n + j]) * h[i * n + j];
      const double r = 1.0 / std::sqrt(ss / double(n) + eps);
      for (int64_t j = 0; j < n; ++j)
        out[i * n + j] = float(double(h[i * n + j]) * r * wv[j] + (b ? values(*b)[j] : 0.0));
    }
  }
  void add_norm(NormKind kind, float* h, const void* delta, const Tensor& w, const Tensor* b, int64_t m, float eps,
                void* y) override {
    add(h, delta, m, w.rows * w.cols);
    norm(kind, h, w, b, m, eps, y);
  }
  void add(float* h, const void* delta, int64_t m, int64_t cols) override {
    const int64_t n = m * cols;
    const float* d = static_cast<const float*>(delta);
    for (int64_t i = 0; i < n; ++i) h[i] += d[i];
  }

  void matmul_many(const void* x, int64_t m, std::span<const Product> products) override {
    const float* xf = static_cast<const float*>(x);
    for (const Product& p : products) {
      const int64_t n = p.w->rows, k = p.w->cols;
      const std::vector<float>& w = values(*p.w);
      // Into a temporary first: y may alias x (the MLP runs in place).
      std::vector<float> y(size_t(m * n));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = p.bias ? values(*p.bias)[j] : 0.0;
          for (int64_t c = 0; c < k; ++c) s += double(xf[i * k + c]) * w[j * k + c];
          y[i * n + j] = float(s);
        }
      std::memcpy(p.y, y.data(), y.size() * 4);
    }
  }
  void gated_mlp(const void* x, int64_t m, const Mlp& mlp, void* y) override {
    const int64_t I = mlp.gate->rows;
    std::vector<float> g(size_t(m * I)), u(size_t(m * I));
    const Product gu[] = {{mlp.gate, mlp.bgate, g.data()}, {mlp.up, mlp.bup, u.data()}};
    matmul_many(x, m, gu);
    for (size_t i = 0; i < g.size(); ++i) {
      const double a = g[i];
      const double act = mlp.act == Act::silu
                             ? a / (1.0 + std::exp(-a))
                             : 0.5 * a * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (a + 0.044715 * a * a * a)));
      g[i] = float(act * u[i]);
    }
    matmul(g.data(), m, *mlp.down, mlp.bdown, y);
  }

  void rope(void* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, const Tensor& cos, const Tensor& sin) override {
    float* xf = static_cast<float*>(x);
    const int64_t half = rot_dim / 2;
    for (size_t i = 0; i < rope_rows_.size(); ++i) {
      const float* c = values(cos).data() + rope_rows_[i] * half;
      const float* s = values(sin).data() + rope_rows_[i] * half;
      for (int64_t h = 0; h < n_heads; ++h) {
        float* v = xf + (int64_t(i) * n_heads + h) * head_dim;
        for (int64_t j = 0; j < half; ++j) {
          const double a = v[j], bb = v[j + half];
          v[j] = float(a * c[j] - bb * s[j]);
          v[j + half] = float(bb * c[j] + a * s[j]);
        }
      }
    }
  }

  void attention(const void* q, const void* k, const void* v, void* out, int64_t n_heads, int64_t n_kv_heads,
                 int64_t head_dim, float scale, int64_t window, float softcap) override {
    const float *qf = static_cast<const float*>(q), *kf = static_cast<const float*>(k), *vf = static_cast<const float*>(v);
    float* of = static_cast<float*>(out);
    const int64_t D = head_dim, group = n_heads / n_kv_heads;
    std::vector<double> p, acc(static_cast<size_t>(D));
    for (const SeqSpan& s : seqs_)
      for (int64_t h = 0; h < n_heads; ++h)
        for (int64_t i = 0; i < s.length; ++i) {
          const int64_t j0 = window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
          const float* qi = qf + ((s.offset + i) * n_heads + h) * D;
          p.assign(size_t(i - j0 + 1), 0.0);
          double mx = -std::numeric_limits<double>::infinity();
          for (int64_t j = j0; j <= i; ++j) {
            const float* kj = kf + ((s.offset + j) * n_kv_heads + h / group) * D;
            double dot = 0;
            for (int64_t d = 0; d < D; ++d) dot += double(qi[d]) * kj[d];
            p[j - j0] = softcap > 0 ? double(softcap) * std::tanh(dot * scale / softcap) : dot * scale;
            mx = std::max(mx, p[j - j0]);
          }
          double sum = 0;
          for (double& e : p) sum += (e = std::exp(e - mx));
          std::fill(acc.begin(), acc.end(), 0.0);
          for (int64_t j = j0; j <= i; ++j) {
            const float* vj = vf + ((s.offset + j) * n_kv_heads + h / group) * D;
            for (int64_t d = 0; d < D; ++d) acc[d] += p[j - j0] * vj[d];
          }
          float* oi = of + ((s.offset + i) * n_heads + h) * D;
          for (int64_t d = 0; d < D; ++d) oi[d] = float(acc[d] / sum);
        }
  }

  void gather_scored(const float* h, int64_t n, float* out) override {
    for (size_t r = 0; r < score_rows_.size(); ++r)
      std::memcpy(out + r * n, h + int64_t(score_rows_[r]) * n, size_t(n) * 4);
  }

  void logprobs(const void* x, const Tensor& w, float softcap) override {
    const float* xf = static_cast<const float*>(x);
    const std::vector<float>& wv = values(w);
    const int64_t vocab = w.rows, k = w.cols;
    std::vector<double> logits(static_cast<size_t>(vocab));
    for (size_t r = 0; r < score_rows_.size(); ++r) {
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < vocab; ++j) {
        double s = 0;
        for (int64_t c = 0; c < k; ++c) s += double(xf[r * k + c]) * wv[j * k + c];
        if (softcap > 0) s = double(softcap) * std::tanh(s / softcap);
        logits[j] = s;
        mx = std::max(mx, s);
      }
      double sum = 0;
      for (double l : logits) sum += std::exp(l - mx);
      logprobs_[r] = logits[targets_[r]] - mx - std::log(sum);
    }
  }

};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace ziq::backend
