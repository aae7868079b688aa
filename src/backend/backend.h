// The few operations a Llama-family decoder needs, behind one interface so an architecture is
// written once and runs on any backend (cpu now, cuda later). Activations are f32 row-major
// [rows, features]; a batch of sequences is packed row after row (no padding), and `SeqSpan`
// tells the attention where each sequence lies. Weights are [out, in] row-major as checkpoints
// store them, bf16 (kept as stored) or f32.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace ziq::backend {

enum class WeightType { bf16, f32 };

struct Weight {
  WeightType type = WeightType::f32;
  const void* data = nullptr;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features
};

struct SeqSpan {
  int64_t offset = 0;  // first row of the sequence in the packed activations
  int64_t length = 0;  // rows (tokens)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // out[i, :] = table[ids[i], :]
  virtual void embed(const Weight& table, const int32_t* ids, int64_t n, float* out) = 0;
  // y[m, w.rows] = x[m, w.cols] * w^T (+ bias[w.rows] when bias is not null)
  virtual void matmul(const float* x, int64_t m, const Weight& w, const float* bias, float* y) = 0;
  // Several products of the same x (q, k and v; gate and up): a backend may prepare x once and
  // schedule them together.
  struct Product {
    const Weight* w;
    const float* bias;
    float* y;
  };
  virtual void matmul_many(const float* x, int64_t m, std::span<const Product> products) {
    for (const Product& p : products) matmul(x, m, *p.w, p.bias, p.y);
  }
  // y[i, :] = x[i, :] / sqrt(mean(x[i, :]^2) + eps) * weight
  virtual void rmsnorm(const float* x, const float* weight, int64_t m, int64_t n, float eps, float* y) = 0;
  // Rotates pairs (j, j + head_dim/2) of every head of row i by the angle whose cos and sin are
  // cos[i, j], sin[i, j] (tables [m, head_dim/2]); x is [m, n_heads * head_dim].
  virtual void rope(float* x, int64_t m, int64_t n_heads, int64_t head_dim, const float* cos,
                    const float* sin) = 0;
  // Causal self-attention with grouped KV heads, per sequence. q, out: [rows, n_heads*head_dim];
  // k, v: [rows, n_kv_heads*head_dim]. window > 0 limits each query to the last `window` keys
  // (itself included), as a sliding-window mask does.
  virtual void attention(const float* q, const float* k, const float* v, float* out,
                         std::span<const SeqSpan> seqs, int64_t n_heads, int64_t n_kv_heads,
                         int64_t head_dim, float scale, int64_t window) = 0;
  // gate[i] = silu(gate[i]) * up[i]
  virtual void silu_mul(float* gate, const float* up, int64_t n) = 0;
  // The gated MLP of rows x[m, gate.cols]: y = (silu(x gate^T + bgate) * (x up^T + bup)) down^T
  // + bdown (biases may be null; y may be x). `scratch` holds 2 * m * gate.rows floats for backends that run
  // the steps one by one, as this default does; a backend may fuse them and leave it untouched.
  struct Mlp {
    const Weight *gate, *up, *down;
    const float *bgate, *bup, *bdown;
  };
  virtual void gated_mlp(const float* x, int64_t m, const Mlp& mlp, float* y, float* scratch) {
    float* gate = scratch;
    float* up = scratch + m * mlp.gate->rows;
    const Product gate_up[] = {{mlp.gate, mlp.bgate, gate}, {mlp.up, mlp.bup, up}};
    matmul_many(x, m, gate_up);
    silu_mul(gate, up, m * mlp.gate->rows);
    matmul(gate, m, *mlp.down, mlp.bdown, y);
  }
  // y[i] += x[i]
  virtual void add(float* y, const float* x, int64_t n) = 0;
  // The fused head: for each row i of h [m, w.cols], ln softmax(h[i] * w^T)[targets[i]], without
  // ever holding all m x vocab logits (the vocabulary is processed in chunks).
  virtual void logprobs(const float* h, int64_t m, const Weight& w, const int32_t* targets,
                        double* out) = 0;
};

// precision: "f32" (exact) or "bf16" (bf16 matrix-product inputs where the CPU has AVX-512 BF16).
std::unique_ptr<Backend> make_cpu_backend(int threads, const std::string& precision = "f32");

}  // namespace ziq::backend
