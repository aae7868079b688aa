// The few operations a decoder needs, behind one interface, so an architecture is written once and
// runs on every backend (reference, cpu, cuda). The backend owns memory:
//   - weights and vectors are loaded once (converted, uploaded, packed as the backend wants) and
//     come back as opaque Tensors;
//   - activations live in Buffers the backend allocates (host memory for the CPU backends, device
//     memory for cuda), and ops take pointers into them;
//   - a batch is uploaded once (set_batch: ids, rope rows, sequences, scored rows, targets), and
//     the only download is the per-target f64 log-probabilities (download_logprobs).
// Ops are asynchronous and run in order (the CPU backends run them at once); download_logprobs waits.
//
// Activations: the residual stream h is float32 [rows, hidden]; every other activation (norm
// outputs, q/k/v, attention output, MLP) is of the backend's activation type, act_type(): float32
// on the CPU backends, and on cuda bf16 with --precision bf16 (float32 accumulation inside each op),
// float32 with --precision f32. A batch of windows is packed row after row, no padding.
// Weights are [out, in] row-major as checkpoints store them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace ziq::backend {

enum class DType { f32, bf16, f16 };
size_t dtype_bytes(DType t);

// A host view of a checkpoint matrix [rows, cols], row stride ld elements (ld >= cols: a column
// slice of a wider matrix), as load_matrix takes it.
struct HostMatrix {
  DType dtype = DType::f32;
  const void* data = nullptr;
  int64_t rows = 0, cols = 0, ld = 0;
};

// Backend memory that the backend filled and the decoder only passes back: weights, vectors
// (norm weights, biases, rope tables). The shape is all the decoder sees.
class Tensor {
 public:
  virtual ~Tensor() = default;
  int64_t rows = 0, cols = 0;  // vectors: rows = 1
};

// Activation memory (freed with the Buffer; the backend that made it must outlive it).
class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual void* data() = 0;
  float* f32() { return static_cast<float*>(data()); }
};

struct SeqSpan {
  int64_t offset = 0;  // first row of the sequence in the packed activations
  int64_t length = 0;  // rows (tokens)
};

// What one forward pass runs on, described on the host; set_batch copies it to the backend.
struct Batch {
  std::span<const int32_t> ids;         // token ids of the packed rows
  std::span<const int32_t> rope_rows;   // per packed row: the row of the rope tables it rotates by
  std::span<const SeqSpan> seqs;        // the sequences, in order, covering every row
  std::span<const int32_t> score_rows;  // packed rows whose output predicts a scored target
  std::span<const int32_t> targets;     // the target of each scored row
};

enum class NormKind { rms };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // "f32" or "bf16": what the arithmetic is (the run's label; never claimed unless done).
  virtual std::string precision() const = 0;
  virtual DType act_type() const = 0;
  size_t act_bytes() const { return dtype_bytes(act_type()); }

  // ---- memory ----
  // A matrix, loaded once. Rows [0, rows) of several host matrices of equal width may be stacked
  // into one (fused products): parts are concatenated by rows.
  virtual std::unique_ptr<Tensor> load_matrix(std::span<const HostMatrix> parts) = 0;
  std::unique_ptr<Tensor> load_matrix(const HostMatrix& m) { return load_matrix(std::span(&m, 1)); }
  // A float32 vector of n values (norm weights, biases, rope tables as rows x cols).
  virtual std::unique_ptr<Tensor> load_vector(const float* host, int64_t rows, int64_t cols = 1) = 0;
  // A seeded random matrix for benchmarks: w[i] = bf16(scale * u) with u uniform in [-1, 1) from a
  // counter-based hash of (seed, i) (random.h), the same values on every backend.
  virtual std::unique_ptr<Tensor> random_matrix(int64_t rows, int64_t cols, uint64_t seed, float scale) = 0;
  virtual std::unique_ptr<Buffer> alloc(size_t bytes) = 0;
  // Copies between host memory and a Buffer (tests and tools; the decoder's only transfers are
  // set_batch and download_logprobs). download waits for the ops in flight.
  virtual void upload(void* dst, const void* host, size_t bytes) = 0;
  virtual void download(void* host, const void* src, size_t bytes) = 0;

  // Waits until every op issued so far has finished (profiling; CPU backends run ops at once).
  virtual void synchronize() {}
  // Device memory: the most in use since the backend started, and what is free now (bytes; 0 on
  // backends that use host memory).
  virtual int64_t peak_memory() const { return 0; }
  virtual int64_t free_memory() const { return 0; }

  // ---- the batch ----
  virtual void set_batch(const Batch& batch) = 0;
  // Waits for the ops in flight, then copies the log-probabilities of the batch's scored rows
  // (written by logprobs) to out (score_rows.size() values).
  virtual void download_logprobs(std::span<double> out) = 0;

  // ---- ops (pointers into Buffers; x, y, q, k, v, delta: act_type) ----
  // h[i, :] = table[ids[i], :] for the batch's rows.
  virtual void embed(const Tensor& table, float* h) = 0;
  // y[i, :] = norm(h[i, :]) * w (+ b) for m rows of n; rms: h / sqrt(mean(h^2) + eps).
  virtual void norm(NormKind kind, const float* h, const Tensor& w, const Tensor* b, int64_t m, float eps,
                    void* y) = 0;
  // h += delta (m rows of n), then y = norm(h): the residual add and the next norm in one pass.
  virtual void add_norm(NormKind kind, float* h, const void* delta, const Tensor& w, const Tensor* b, int64_t m,
                        float eps, void* y) = 0;
  // h += delta (m rows of n).
  virtual void add(float* h, const void* delta, int64_t m, int64_t n) = 0;
  // x = norm(x) * w in place, on m rows of w's length of an activation (act_type): Qwen3's per-head
  // and OLMo 2's full-width q/k norms (rows of head_dim or of q's width), OLMo 2's post-norms.
  virtual void norm_act(NormKind kind, void* x, const Tensor& w, int64_t m, float eps) = 0;
  // y = x (n values) in the activation type: a block whose input is the residual stream itself
  // (OLMo 2 has no pre-norm).
  virtual void to_act(const float* x, int64_t n, void* y) = 0;
  // h *= s (n values): Gemma's embedding scale sqrt(hidden).
  virtual void scale(float* h, int64_t n, float s) = 0;
  // y[m, w.rows] = x[m, w.cols] w^T (+ bias). Several products of the same x (q, k, v) in one call.
  struct Product {
    const Tensor* w;
    const Tensor* bias;  // may be null
    void* y;
  };
  virtual void matmul_many(const void* x, int64_t m, std::span<const Product> products) = 0;
  void matmul(const void* x, int64_t m, const Tensor& w, const Tensor* bias, void* y) {
    const Product p{&w, bias, y};
    matmul_many(x, m, std::span(&p, 1));
  }
  // The gated MLP of rows x [m, gate.cols]: y = (act(x gate^T + bgate) * (x up^T + bup)) down^T + bdown
  // (biases may be null; y may be x). Bounded memory: the backend cuts m as it needs.
  // act: silu(g) = g / (1 + exp(-g)) (SwiGLU), or gelu_tanh(g) = 0.5 g (1 + tanh(sqrt(2/pi) (g +
  // 0.044715 g^3))) (GeGLU as Gemma's gelu_pytorch_tanh).
  enum class Act { silu, gelu_tanh };
  struct Mlp {
    const Tensor *gate, *up, *down;
    const Tensor *bgate, *bup, *bdown;
    Act act = Act::silu;
  };
  virtual void gated_mlp(const void* x, int64_t m, const Mlp& mlp, void* y) = 0;
  // Rotary embedding in place on the first rot_dim dimensions of each head of the batch's rows
  // (rotate-half pairs (j, j + rot_dim/2)), by the angles of rope row rope_rows[i] of the tables
  // cos, sin ([table rows, rot_dim/2]).
  virtual void rope(void* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, const Tensor& cos,
                    const Tensor& sin) = 0;
  // Causal self-attention of the batch's sequences with grouped KV heads. q, out: [rows,
  // n_heads*head_dim]; k, v: [rows, n_kv_heads*head_dim]. window > 0 limits each query to the
  // last `window` keys (itself included). softcap > 0 (Gemma 2): each score x = scale * q.k becomes
  // softcap * tanh(x / softcap) before the softmax.
  virtual void attention(const void* q, const void* k, const void* v, void* out, int64_t n_heads,
                         int64_t n_kv_heads, int64_t head_dim, float scale, int64_t window, float softcap = 0) = 0;
  // out[r, :] = h[score_rows[r], :] (n columns), float32.
  virtual void gather_scored(const float* h, int64_t n, float* out) = 0;
  // The head on the scored rows x [S, w.cols] (act_type): ln softmax(x w^T)[target] per row,
  // never holding all S x vocab logits; kept for download_logprobs. softcap > 0 (Gemma 2): each
  // logit l becomes softcap * tanh(l / softcap) first.
  virtual void logprobs(const void* x, const Tensor& w, float softcap = 0) = 0;
};

std::unique_ptr<Backend> make_reference_backend();
// precision: "f32" (exact) or "bf16" (matrix-product inputs rounded to bf16; see cpu/gemm.h).
std::unique_ptr<Backend> make_cpu_backend(int threads, const std::string& precision = "f32");
// Null when this build has no CUDA backend (ZIQ_CUDA off); errors when no GPU is usable.
std::unique_ptr<Backend> make_cuda_backend(int device, const std::string& precision);
bool cuda_compiled();
int cuda_device_count();  // 0 when not compiled or no driver/GPU

}  // namespace ziq::backend
