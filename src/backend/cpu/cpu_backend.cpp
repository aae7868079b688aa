// The CPU backend: f32 activations in host memory, bf16 weights read where they lie (the
// checkpoint mapping) and packed for the matrix kernel on first use, work split over threads by
// output blocks, heads or rows. Matrix products: see gemm.h.
#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <limits>
#include <cstring>
#include <mutex>
#include <vector>

#include "backend/backend.h"
#include "backend/host_backend.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/vec.h"
#include "backend/host_convert.h"
#include "backend/random.h"
#include "core/error.h"
#include "core/threads.h"

namespace ziq::backend {
namespace {

using cpu::GemmKernel;

// How one product y[m, n] = x w^T is cut into tasks (CpuBackend::plan_tiles says why so).
struct TilePlan {
  const uint16_t* packed = nullptr;  // the weight matrix prepacked for the kernel, or null
  int64_t nb = 0, mb = 0;            // weight rows (columns of y) and rows of x per task
  int64_t col_blocks = 0, row_blocks = 0;
  int64_t first_task = 0;  // its first task's index in a matmul_many task list
};

enum class WeightType { bf16, f32 };

// A loaded matrix or vector: bf16 (as stored: the mapping itself when the checkpoint's matrix is
// contiguous) or f32 (f16 widened exactly), and the kernel's packed copy once a product used it.
struct CpuTensor final : Tensor {
  WeightType type = WeightType::f32;
  const void* data = nullptr;       // rows x cols, row-major
  AlignedBuffer<float> owned_f32;   // when data is ours
  AlignedBuffer<uint16_t> owned_bf16;
  mutable std::once_flag packed_once;
  mutable AlignedBuffer<uint16_t> packed;  // the kernel's layout (gemm_prepacks kernels)
  const float* f32() const { return static_cast<const float*>(data); }
};

const CpuTensor& cpu_tensor(const Tensor& t) { return static_cast<const CpuTensor&>(t); }
const float* vector_data(const Tensor* t) { return t ? cpu_tensor(*t).f32() : nullptr; }

struct CpuBuffer final : Buffer {
  AlignedBuffer<float> storage;
  void* data() override { return storage.data(); }
};

const void* row_ptr(const CpuTensor& w, int64_t row) {
  if (w.type == WeightType::bf16) return static_cast<const uint16_t*>(w.data) + row * w.cols;
  return static_cast<const float*>(w.data) + row * w.cols;
}

class CpuBackend final : public HostBackend {
 public:
  CpuBackend(int threads, GemmKernel kernel) : threads_(resolve_threads(threads)), kernel_(kernel) {
    openblas_set_num_threads(1);  // we run blocks on our own threads
    scratch_.resize(threads_);
  }
  ~CpuBackend() override {
    if (profile_) std::fprintf(stderr, "profile (of which x to bf16 parts for matrix products) %.3f s\n", prepare_seconds_);
  }

  std::string name() const override { return "cpu (" + cpu::gemm_kernel_name(kernel_) + ")"; }
  // bf16 only when the kernel really rounds the products' inputs to bf16.
  std::string precision() const override {
    return kernel_ == GemmKernel::avx512bf16_fast || kernel_ == GemmKernel::amx_bf16 ? "bf16" : "f32";
  }
  DType act_type() const override { return DType::f32; }

  // ---- memory ----
  std::unique_ptr<Tensor> load_matrix(std::span<const HostMatrix> parts) override {
    auto t = std::make_unique<CpuTensor>();
    t->rows = stacked_rows(parts);
    t->cols = parts[0].cols;
    bool all_bf16 = true;
    for (const HostMatrix& p : parts) all_bf16 = all_bf16 && p.dtype == DType::bf16;
    if (parts.size() == 1 && parts[0].ld == parts[0].cols && parts[0].dtype != DType::f16) {
      t->type = parts[0].dtype == DType::bf16 ? WeightType::bf16 : WeightType::f32;
      t->data = parts[0].data;  // the mapping itself
    } else if (all_bf16) {
      t->type = WeightType::bf16;
      t->owned_bf16.resize(size_t(t->rows * t->cols));
      stack_to_bf16(parts, t->owned_bf16.data());
      t->data = t->owned_bf16.data();
    } else {  // f16 (widened exactly), mixed or strided f32
      t->type = WeightType::f32;
      t->owned_f32.resize(size_t(t->rows * t->cols));
      stack_to_f32(parts, t->owned_f32.data());
      t->data = t->owned_f32.data();
    }
    return t;
  }
  std::unique_ptr<Tensor> load_vector(const float* host, int64_t rows, int64_t cols) override {
    auto t = std::make_unique<CpuTensor>();
    t->rows = rows;
    t->cols = cols;
    t->owned_f32.resize(size_t(std::max<int64_t>(1, rows * cols)));
    std::copy(host, host + rows * cols, t->owned_f32.data());
    t->data = t->owned_f32.data();
    return t;
  }
  std::unique_ptr<Tensor> random_matrix(int64_t rows, int64_t cols, uint64_t seed, float scale) override {
    auto t = std::make_unique<CpuTensor>();
    t->rows = rows;
    t->cols = cols;
    t->type = WeightType::bf16;
    t->owned_bf16.resize(size_t(rows * cols));
    uint16_t* w = t->owned_bf16.data();
    parallel_for(size_t(rows * cols), threads_, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) w[i] = f32_to_bf16_bits(scale * random_uniform(seed, i));
    }, 1 << 16);
    t->data = w;
    return t;
  }
  std::unique_ptr<Buffer> alloc(size_t bytes) override {
    auto b = std::make_unique<CpuBuffer>();
    b->storage.resize(std::max<size_t>(1, (bytes + 3) / 4));
    return b;
  }

  // ---- ops ----
  void embed(const Tensor& table_t, float* out) override {
    const CpuTensor& table = cpu_tensor(table_t);
    const int64_t d = table.cols, n = int64_t(ids_.size());
    const int32_t* ids = ids_.data();
    parallel_for(n, threads_, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        float* dst = out + i * d;
        if (table.type == WeightType::bf16) {
          const uint16_t* src = static_cast<const uint16_t*>(table.data) + int64_t(ids[i]) * d;
          for (int64_t j = 0; j < d; ++j) dst[j] = cpu::bf16_to_f32(src[j]);
        } else {
          const float* src = static_cast<const float*>(table.data) + int64_t(ids[i]) * d;
          std::copy(src, src + d, dst);
        }
      }
    }, 64);
  }

  // Alike products (weights of one type and width, as in real checkpoints) share one preparation
  // of x and one list of tasks (the small k and v projections fill the threads together with q);
  // others run one by one.
  void matmul_many(const void* xv, int64_t m, std::span<const Product> products) override {
    if (products.empty()) return;
    const float* x = static_cast<const float*>(xv);
    std::vector<Prod> prods;
    for (const Product& p : products)
      prods.push_back({&cpu_tensor(*p.w), vector_data(p.bias), static_cast<float*>(p.y)});
    const int64_t k = prods[0].w->cols;
    const bool bf16 = prods[0].w->type == WeightType::bf16;
    for (const Prod& p : prods)
      if (p.w->cols != k || (p.w->type == WeightType::bf16) != bf16) {
        for (const Prod& one : prods) run_products(prepare(x, m, k, one.w->type == WeightType::bf16), std::span(&one, 1));
        return;
      }
    run_products(prepare(x, m, k, bf16), prods);
  }

  // The gated MLP in blocks of rows (bounds the [rows, I] buffers), in place when y == x: rows
  // [r0, r0 + n) of x are not read again once their output is written.
  void gated_mlp(const void* xv, int64_t m, const Mlp& mlp, void* yv) override {
    constexpr int64_t kRows = 2048;
    const float* x = static_cast<const float*>(xv);
    float* y = static_cast<float*>(yv);
    const int64_t H = mlp.gate->cols, Ho = mlp.down->rows;
    for (int64_t r0 = 0; r0 < m; r0 += kRows) mlp_rows(x + r0 * H, std::min(kRows, m - r0), mlp, y + r0 * Ho);
  }

  void norm(NormKind, const float* x, const Tensor& w, const Tensor* b, int64_t m, float eps, void* yv) override {
    const float* weight = cpu_tensor(w).f32();
    const float* bias = vector_data(b);
    const int64_t n = w.rows * w.cols;
    float* y = static_cast<float*>(yv);
    parallel_for(m, threads_, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        const float* xi = x + i * n;
        // Eight partial sums: independent chains (one chain waited on each add's latency).
        double part[8] = {}, ss = 0;
        int64_t j = 0;
        for (; j + 8 <= n; j += 8)
          for (int u = 0; u < 8; ++u) part[u] += double(xi[j + u]) * xi[j + u];
        for (; j < n; ++j) ss += double(xi[j]) * xi[j];
        for (double p : part) ss += p;
        const float r = 1.0f / std::sqrt(float(ss / n) + eps);
        float* yi = y + i * n;
        for (int64_t j = 0; j < n; ++j) yi[j] = weight[j] * (xi[j] * r);
        if (bias)
          for (int64_t j = 0; j < n; ++j) yi[j] += bias[j];
      }
    }, 16);
  }

  void add_norm(NormKind kind, float* h, const void* delta, const Tensor& w, const Tensor* b, int64_t m, float eps,
                void* y) override {
    add(h, delta, m, w.rows * w.cols);
    norm(kind, h, w, b, m, eps, y);
  }

  void rope(void* xv, int64_t n_heads, int64_t head_dim, int64_t rot_dim, const Tensor& cos_t,
            const Tensor& sin_t) override {
    float* x = static_cast<float*>(xv);
    const float *cos = cpu_tensor(cos_t).f32(), *sin = cpu_tensor(sin_t).f32();
    const int64_t half = rot_dim / 2, m = int64_t(rope_rows_.size());
    parallel_for(m, threads_, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        const float* c = cos + int64_t(rope_rows_[i]) * half;
        const float* s = sin + int64_t(rope_rows_[i]) * half;
        for (int64_t h = 0; h < n_heads; ++h) {
          float* v = x + (i * n_heads + h) * head_dim;
          for (int64_t j = 0; j < half; ++j) {
            const float a = v[j], bb = v[j + half];
            v[j] = a * c[j] - bb * s[j];
            v[j + half] = bb * c[j] + a * s[j];
          }
        }
      }
    }, 16);
  }

  void attention(const void* q, const void* k, const void* v, void* out, int64_t n_heads, int64_t n_kv_heads,
                 int64_t head_dim, float scale, int64_t window, float softcap) override {
    // Our own kernel (attention.h): OpenBLAS serializes sgemm calls made from several threads.
    // In bf16 precision on AMX, attention too runs on the tile unit with bf16 inputs (attention.h).
    const bool amx = kernel_ == GemmKernel::amx_bf16 && cpu::amx_attention_supports(head_dim);
    cpu::Attention att({static_cast<const float*>(q), static_cast<const float*>(k), static_cast<const float*>(v),
                        static_cast<float*>(out), n_heads, n_kv_heads, head_dim, scale, window, softcap},
                       seqs_, amx ? cpu::AttentionKernel::amx_bf16 : cpu::default_attention_kernel());
    run_workers(att.pack_items(), [&](int, int64_t item) { att.pack(item); });
    run_workers(att.tasks(), [&](int worker, int64_t task) { att.run(task, scratch_[worker]); });
  }

  void add(float* y, const void* xv, int64_t m, int64_t cols) override {
    const int64_t n = m * cols;
    const float* x = static_cast<const float*>(xv);
    parallel_for(n, threads_, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) y[i] += x[i];
    }, 1 << 16);
  }

  void gather_scored(const float* h, int64_t n, float* out) override {
    const int64_t S = int64_t(score_rows_.size());
    parallel_for(S, threads_, [&](size_t b, size_t e) {
      for (size_t r = b; r < e; ++r) std::memcpy(out + r * n, h + int64_t(score_rows_[r]) * n, size_t(n) * 4);
    }, 64);
  }

  void logprobs(const void* x, const Tensor& w, float softcap) override {
    head(static_cast<const float*>(x), int64_t(score_rows_.size()), cpu_tensor(w), targets_.data(), logprobs_.data(),
         softcap);
  }

 private:
  // One product of the backend's tasks: y = x w^T (+ bias).
  struct Prod {
    const CpuTensor* w;
    const float* bias;
    float* y;
  };

  void act_mul(Act act, float* gate, const float* up, int64_t n) {
    parallel_for(n, threads_, [&](size_t b, size_t e) {
      if (act == Act::silu) cpu::silu_mul(gate + b, up + b, int64_t(e - b));
      else cpu::gelu_tanh_mul(gate + b, up + b, int64_t(e - b));
    }, 1 << 16);
  }

  // The gated MLP of m rows, fused on AMX (gemm_silu_gate_packed): x's tiles -> gate and up tiles ->
  // act's tiles, the down projection's prepared input, so no [m, I] f32 matrix is written and read
  // back (for a small model those passes over memory cost as much as the products). Elsewhere the
  // steps one by one.
  void mlp_rows(const float* x, int64_t m, const Mlp& mlp, float* y) {
    const CpuTensor &gate = cpu_tensor(*mlp.gate), &up = cpu_tensor(*mlp.up), &down = cpu_tensor(*mlp.down);
    const float *bgate = vector_data(mlp.bgate), *bup = vector_data(mlp.bup), *bdown = vector_data(mlp.bdown);
    const int64_t I = gate.rows;
    const bool fusable = cpu::is_amx(kernel_) && gate.type == WeightType::bf16 && up.type == WeightType::bf16 &&
                         down.type == WeightType::bf16 && up.rows == gate.rows && up.cols == gate.cols &&
                         down.cols == gate.rows && mlp.act == Act::silu;
    if (!fusable) {
      mlp_scratch_.resize(size_t(2 * m * I));
      float* g = mlp_scratch_.data();
      float* u = g + m * I;
      const Prod gate_up[] = {{&gate, bgate, g}, {&up, bup, u}};
      run_products(prepare(x, m, gate.cols, gate.type == WeightType::bf16), gate_up);
      act_mul(mlp.act, g, u, m * I);
      const Prod d{&down, bdown, y};
      run_products(prepare(g, m, I, down.type == WeightType::bf16), std::span(&d, 1));
      return;
    }
    const cpu::GemmInput in = prepare(x, m, gate.cols, true);
    const cpu::GemmInput act = cpu::gemm_input_tiles(kernel_, m, I, act_tiles_);
    // Planned as one product of 2I columns (a task computes gate and up for the same columns), so
    // each task takes half the columns that plan gives it.
    TilePlan plan = plan_tiles(m, 2 * I, gate.cols, in.parts, true);
    plan.nb = std::max<int64_t>(32, plan.nb / 64 * 32);
    plan.col_blocks = (I + plan.nb - 1) / plan.nb;
    const uint16_t* gp = packed_weight(gate);
    const uint16_t* upp = packed_weight(up);
    run_workers(plan.col_blocks * plan.row_blocks, [&](int, int64_t t) {
      const int64_t j0 = t / plan.row_blocks * plan.nb, cols = std::min(plan.nb, I - j0);
      const int64_t r0 = t % plan.row_blocks * plan.mb, rows = std::min(plan.mb, m - r0);
      cpu::gemm_silu_gate_packed(kernel_, cpu::gemm_input_rows(in, r0, rows), gp, upp, bgate, bup, j0, cols, I,
                                 act_tiles_.data(), r0);
    });
    const Prod p{&down, bdown, y};
    run_products(act, std::span(&p, 1));
  }

  // The fused head: for each row i of h [m, w.cols], ln softmax(h[i] w^T)[targets[i]], without
  // ever holding all m x vocab logits (the vocabulary is processed in chunks).
  void head(const float* h, int64_t m, const CpuTensor& w, const int32_t* targets, double* out, float softcap) {
    const int64_t vocab = w.rows, k = w.cols;
    constexpr int64_t kRows = 1024, kChunk = 256;  // bounded memory: kRows x kChunk logits per thread
    const int64_t chunks = (vocab + kChunk - 1) / kChunk;
    const bool bf16 = w.type == WeightType::bf16;
    std::vector<float> cmax, csum, target_logit;
    std::vector<std::vector<float>> logits(threads_);
    const uint16_t* packed = bf16 ? packed_weight(w) : nullptr;
    for (int64_t r0 = 0; r0 < m; r0 += kRows) {
      const int64_t mr = std::min(kRows, m - r0);
      const cpu::GemmInput in =
          cpu::prepare_gemm_input(bf16 ? kernel_ : GemmKernel::openblas, h + r0 * k, mr, k, parts_, threads_);
      cmax.assign(chunks * mr, 0.0f);
      csum.assign(chunks * mr, 0.0f);
      target_logit.assign(mr, std::numeric_limits<float>::quiet_NaN());
      run_workers(chunks, [&](int worker, int64_t c) {
        const int64_t v0 = c * kChunk, nv = std::min(kChunk, vocab - v0);
        std::vector<float>& lg = logits[worker];
        if (lg.size() < size_t(mr * kChunk)) lg.resize(mr * kChunk);
        if (packed)
          cpu::gemm_block_packed(kernel_, in, packed, v0, nv, lg.data(), nv);
        else
          cpu::gemm_block(kernel_, in, row_ptr(w, v0), bf16, nv, lg.data(), nv, scratch_[worker]);
        if (softcap > 0) cpu::softcap_inplace(lg.data(), mr * nv, 1.0f, softcap);  // as transformers: / cap, tanh, * cap
        for (int64_t i = 0; i < mr; ++i) {
          const float* row = lg.data() + i * nv;
          const float mx = cpu::max_of(row, nv);
          cmax[c * mr + i] = mx;
          csum[c * mr + i] = cpu::sum_exp(row, nv, mx);
          const int64_t t = targets[r0 + i];
          if (t >= v0 && t < v0 + nv) target_logit[i] = row[t - v0];
        }
      });
      for (int64_t i = 0; i < mr; ++i) {
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t c = 0; c < chunks; ++c) mx = std::max(mx, cmax[c * mr + i]);
        double s = 0;
        for (int64_t c = 0; c < chunks; ++c) s += double(csum[c * mr + i]) * std::exp(double(cmax[c * mr + i]) - mx);
        out[r0 + i] = double(target_logit[i]) - mx - std::log(s);
      }
    }
  }

  // x prepared for the kernel that runs products with these weights (f32 weights: OpenBLAS).
  cpu::GemmInput prepare(const float* x, int64_t m, int64_t k, bool bf16_weights) {
    const GemmKernel kern = bf16_weights ? kernel_ : GemmKernel::openblas;
    const auto t0 = std::chrono::steady_clock::now();
    const cpu::GemmInput in = cpu::prepare_gemm_input(kern, x, m, k, parts_, threads_);
    if (profile_) prepare_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return in;
  }

  // Alike products of one prepared input, in one list of tasks.
  void run_products(const cpu::GemmInput& in, std::span<const Prod> products) {
    const int64_t m = in.m, k = in.k;
    const bool bf16 = products[0].w->type == WeightType::bf16;
    std::vector<TilePlan> plans;
    int64_t tasks = 0;
    for (const Prod& p : products) {
      TilePlan plan = plan_tiles(m, p.w->rows, k, in.parts, bf16);
      plan.packed = bf16 ? packed_weight(*p.w) : nullptr;
      plan.first_task = tasks;
      tasks += plan.col_blocks * plan.row_blocks;
      plans.push_back(plan);
    }
    run_workers(tasks, [&](int worker, int64_t t) {
      size_t i = 0;
      while (i + 1 < plans.size() && plans[i + 1].first_task <= t) ++i;
      const TilePlan& plan = plans[i];
      const CpuTensor& w = *products[i].w;
      const int64_t n = w.rows, local = t - plan.first_task;
      const int64_t j0 = local / plan.row_blocks * plan.nb, cols = std::min(plan.nb, n - j0);
      const int64_t r0 = local % plan.row_blocks * plan.mb, rows = std::min(plan.mb, m - r0);
      float* yb = products[i].y + r0 * n + j0;
      const cpu::GemmInput sub = cpu::gemm_input_rows(in, r0, rows);
      if (plan.packed)
        cpu::gemm_block_packed(kernel_, sub, plan.packed, j0, cols, yb, n);
      else
        cpu::gemm_block(kernel_, sub, row_ptr(w, j0), bf16, cols, yb, n, scratch_[worker]);
      if (const float* bias = products[i].bias)
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < cols; ++j) yb[r * n + j] += bias[j0 + j];
    });
  }

  // y [m, n] is cut into col_blocks x row_blocks tasks; a task reads its rows of x and its block
  // of weight rows, so a product reads about col_blocks * |x| + row_blocks * |w| bytes. For ~4
  // tasks per thread that is least at col_blocks = sqrt(tasks * |w| / |x|): few column blocks
  // when x is the big one (the MLP's down projection), many when w is. Weight blocks stay at
  // most 256 rows (their packed panels fit in L2); row blocks are whole 32-row tile groups.
  // Every output element is still one kernel call over all of k, so the split never changes
  // the result.
  TilePlan plan_tiles(int64_t m, int64_t n, int64_t k, int parts, bool bf16) const {
    TilePlan plan;
    const int64_t mult = cpu::gemm_block_multiple(kernel_);
    const double x_bytes = double(m) * double(k) * (parts ? 2.0 * parts : 4.0);
    const double w_bytes = double(n) * double(k) * (bf16 ? 2.0 : 4.0);
    const int64_t tasks = 4 * int64_t(threads_);
    int64_t col_blocks = std::llround(std::sqrt(double(tasks) * w_bytes / x_bytes));
    col_blocks = std::clamp<int64_t>(col_blocks, (n + 255) / 256, (n + mult - 1) / mult);
    plan.nb = ((n + col_blocks - 1) / col_blocks + mult - 1) / mult * mult;
    plan.col_blocks = (n + plan.nb - 1) / plan.nb;
    plan.mb = m;
    if (const int64_t want_rows = (tasks + plan.col_blocks - 1) / plan.col_blocks; want_rows > 1 && m > 32)
      plan.mb = ((m + want_rows - 1) / want_rows + 31) / 32 * 32;
    plan.row_blocks = (m + plan.mb - 1) / plan.mb;
    return plan;
  }

  // The kernel's own layout of a bf16 weight matrix, packed (on all threads) the first time it is
  // used in a product and kept with the tensor: the checkpoint's pages are not read again, so
  // memory stays about the model's size (an embedding table that is not also the head is never
  // packed). nullptr when the kernel reads weights as stored.
  const uint16_t* packed_weight(const CpuTensor& w) {
    if (!cpu::gemm_prepacks(kernel_)) return nullptr;
    std::call_once(w.packed_once, [&] {
      w.packed.resize(size_t(cpu::packed_weight_values(kernel_, w.rows, w.cols)));
      const int64_t panels = (w.rows + 31) / 32;
      parallel_for(size_t(panels), threads_, [&](size_t b, size_t e) {
        cpu::pack_weight_panels(kernel_, static_cast<const uint16_t*>(w.data), w.rows, w.cols, int64_t(b),
                                int64_t(e), w.packed.data());
      }, 8);
    });
    return w.packed.data();
  }

  // fn(worker, item) for item in [0, items), items handed out dynamically; worker < threads_ indexes
  // per-thread scratch.
  template <typename Fn>
  void run_workers(int64_t items, Fn&& fn) {
    std::atomic<int64_t> next{0};
    const int workers = int(std::min<int64_t>(threads_, items));
    parallel_for(workers, workers, [&](size_t b, size_t e) {
      for (size_t worker = b; worker < e; ++worker)
        for (int64_t item; (item = next.fetch_add(1)) < items;) fn(int(worker), item);
    });
  }

  int threads_;
  GemmKernel kernel_;
  const bool profile_ = std::getenv("ZIQ_PROFILE") != nullptr;  // see decoder.cpp's StageTimes
  double prepare_seconds_ = 0;
  std::vector<std::vector<float>> scratch_;
  AlignedBuffer<uint16_t> parts_;       // x as bf16 parts, for the bf16 and AMX kernels
  AlignedBuffer<uint16_t> act_tiles_;   // the fused MLP's activations, the down projection's input
  AlignedBuffer<float> mlp_scratch_;    // gate and up outputs of the unfused MLP
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads, const std::string& precision) {
  if (precision != "f32" && precision != "bf16") usage_error("--precision {}: expected f32 or bf16", precision);
  return std::make_unique<CpuBackend>(threads, precision == "bf16" ? cpu::fast_gemm_kernel() : cpu::default_gemm_kernel());
}

}  // namespace ziq::backend
