// The CUDA backend: weights and activations in device memory, every op asynchronous on one stream,
// matrix products through cuBLASLt (algorithm chosen once per shape and kept, no in-place split-K
// reductions: the same inputs give the same bits), the rest in our kernels (kernels.h).
//
// Precision "bf16" (the default): weights bf16 on the device (f16/f32 checkpoints converted at
// load), activations bf16, float32 accumulation in products, norms and softmax, float64 sums of
// the log-probabilities. The residual stream stays float32 (more exact than transformers' bfloat16
// run, which keeps it in bf16). Precision "f32": weights and activations float32, products in
// true float32 (CUBLAS_COMPUTE_32F, no TF32), equal to transformers' float32.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/kernels.h"
#include "backend/host_convert.h"
#include "core/error.h"

namespace ziq::backend {
namespace {

using cuda::DevSeqSpan;
using bf16 = __nv_bfloat16;

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  if (e == cudaErrorMemoryAllocation)
    throw Error(ErrorKind::usage, fmt::format("cuda: out of GPU memory in {} (lower --batch)", what));
  internal_error("cuda: {}: {}", what, cudaGetErrorString(e));
}
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) internal_error("cuBLASLt: {}: status {}", what, int(s));
}
// After a launch: launch errors (bad configuration) show here, faults at the next sync.
void check_launch(const char* what) { check(cudaGetLastError(), what); }

struct DeviceMemory {
  void* ptr = nullptr;
  DeviceMemory() = default;
  explicit DeviceMemory(size_t bytes, const char* what) {
    if (bytes == 0) bytes = 1;
    const cudaError_t e = cudaMalloc(&ptr, bytes);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw Error(ErrorKind::usage,
                  fmt::format("cuda: out of GPU memory: {} needs {} MiB, {} MiB free of {} MiB (lower --batch, or use "
                              "a GPU with more memory)",
                              what, bytes >> 20, free_b >> 20, total_b >> 20));
    }
    check(e, what);
  }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  DeviceMemory(DeviceMemory&& o) noexcept : ptr(o.ptr) { o.ptr = nullptr; }
  DeviceMemory& operator=(DeviceMemory&& o) noexcept {
    std::swap(ptr, o.ptr);
    return *this;
  }
  ~DeviceMemory() {
    if (ptr) cudaFree(ptr);
  }
};

// A matrix: bf16 or float32 on the device, [rows, cols] row-major. Vectors are float32 (norms, rope
// tables) with a bf16 copy for the products' bias epilogue in bf16 precision.
struct CudaTensor final : Tensor {
  DType type = DType::f32;
  DeviceMemory mem, mem_bf16;
  const void* data() const { return mem.ptr; }
  const float* f32() const { return static_cast<const float*>(mem.ptr); }
};
const CudaTensor& cuda_tensor(const Tensor& t) { return static_cast<const CudaTensor&>(t); }

struct CudaBuffer final : Buffer {
  DeviceMemory mem;
  void* data() override { return mem.ptr; }
};

cudaDataType_t cuda_type(DType t) { return t == DType::bf16 ? CUDA_R_16BF : CUDA_R_32F; }

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, const std::string& precision) : device_(device), bf16_(precision == "bf16") {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
      cudaGetLastError();
      input_error("--backend cuda: no usable NVIDIA GPU (driver missing or no device)");
    }
    if (device < 0 || device >= count) usage_error("--device {}: this machine has {} GPU(s), 0 to {}", device, count, count - 1);
    check(cudaSetDevice(device), "cudaSetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    name_ = prop.name;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasLtCreate(&lt_), "cublasLtCreate");
    workspace_ = DeviceMemory(kWorkspace, "the cuBLASLt workspace");
    for (auto& s : staging_) check(cudaHostAlloc(&s.host, kStaging, cudaHostAllocDefault), "cudaHostAlloc");
    for (auto& s : staging_) check(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaHostAlloc(&batch_host_, kBatchHost, cudaHostAllocDefault), "cudaHostAlloc");
  }
  ~CudaBackend() override {
    cudaStreamSynchronize(stream_);
    for (auto& [key, plan] : plans_) {
      cublasLtMatmulDescDestroy(plan.desc);
      cublasLtMatrixLayoutDestroy(plan.a);
      cublasLtMatrixLayoutDestroy(plan.b);
      cublasLtMatrixLayoutDestroy(plan.d);
    }
    for (auto& s : staging_) {
      cudaFreeHost(s.host);
      cudaEventDestroy(s.done);
    }
    cudaFreeHost(batch_host_);
    cublasLtDestroy(lt_);
    cudaStreamDestroy(stream_);
  }

  std::string name() const override { return "cuda (" + name_ + ")"; }
  std::string precision() const override { return bf16_ ? "bf16" : "f32"; }
  DType act_type() const override { return bf16_ ? DType::bf16 : DType::f32; }

  // ---- memory ----
  std::unique_ptr<Tensor> load_matrix(std::span<const HostMatrix> parts) override {
    auto t = std::make_unique<CudaTensor>();
    t->rows = stacked_rows(parts);
    t->cols = parts[0].cols;
    t->type = act_type();
    const size_t esize = dtype_bytes(t->type), row_bytes = size_t(t->cols) * esize;
    t->mem = DeviceMemory(size_t(t->rows) * row_bytes, "a weight matrix");
    // Rows converted on the host into pinned staging buffers, two in turn, each copy overlapping
    // the conversion of the next block.
    const int64_t block_rows = std::max<int64_t>(1, int64_t(kStaging / row_bytes));
    char* dst = static_cast<char*>(t->mem.ptr);
    int turn = 0;
    for (const HostMatrix& p : parts)
      for (int64_t r0 = 0; r0 < p.rows; r0 += block_rows) {
        const int64_t n = std::min(block_rows, p.rows - r0);
        Staging& s = staging_[turn++ % 2];
        check(cudaEventSynchronize(s.done), "staging");
        const HostMatrix block{p.dtype, static_cast<const char*>(p.data) + r0 * p.ld * dtype_bytes(p.dtype), n, p.cols,
                               p.ld};
        if (bf16_)
          stack_to_bf16(std::span(&block, 1), static_cast<uint16_t*>(s.host));
        else
          stack_to_f32(std::span(&block, 1), static_cast<float*>(s.host));
        check(cudaMemcpyAsync(dst, s.host, size_t(n) * row_bytes, cudaMemcpyHostToDevice, stream_), "upload");
        check(cudaEventRecord(s.done, stream_), "staging");
        dst += size_t(n) * row_bytes;
      }
    check(cudaStreamSynchronize(stream_), "upload");
    return t;
  }

  std::unique_ptr<Tensor> load_vector(const float* host, int64_t rows, int64_t cols) override {
    auto t = std::make_unique<CudaTensor>();
    t->rows = rows;
    t->cols = cols;
    const size_t n = size_t(rows * cols);
    t->mem = DeviceMemory(n * 4, "a vector");
    check(cudaMemcpyAsync(t->mem.ptr, host, n * 4, cudaMemcpyHostToDevice, stream_), "upload");
    if (bf16_) {
      t->mem_bf16 = DeviceMemory(n * 2, "a vector");
      cuda::f32_to_bf16(t->f32(), int64_t(n), static_cast<bf16*>(t->mem_bf16.ptr), stream_);
      check_launch("f32_to_bf16");
    }
    check(cudaStreamSynchronize(stream_), "upload");  // host may be freed on return
    return t;
  }

  std::unique_ptr<Tensor> random_matrix(int64_t rows, int64_t cols, uint64_t seed, float scale) override {
    auto t = std::make_unique<CudaTensor>();
    t->rows = rows;
    t->cols = cols;
    t->type = act_type();
    const int64_t n = rows * cols;
    if (bf16_) {
      t->mem = DeviceMemory(size_t(n) * 2, "a random weight matrix");
      cuda::fill_random_bf16(static_cast<bf16*>(t->mem.ptr), n, seed, scale, stream_);
    } else {
      DeviceMemory tmp(size_t(n) * 2, "a random weight matrix");
      t->mem = DeviceMemory(size_t(n) * 4, "a random weight matrix");
      cuda::fill_random_bf16(static_cast<bf16*>(tmp.ptr), n, seed, scale, stream_);
      cuda::bf16_to_f32(static_cast<const bf16*>(tmp.ptr), n, static_cast<float*>(t->mem.ptr), stream_);
      check(cudaStreamSynchronize(stream_), "random weights");
    }
    check_launch("fill_random_bf16");
    return t;
  }

  std::unique_ptr<Buffer> alloc(size_t bytes) override {
    auto b = std::make_unique<CudaBuffer>();
    b->mem = DeviceMemory(bytes, "activations");
    return b;
  }
  void upload(void* dst, const void* host, size_t bytes) override {
    check(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, stream_), "upload");
    check(cudaStreamSynchronize(stream_), "upload");
  }
  void synchronize() override { check(cudaStreamSynchronize(stream_), "synchronize"); }
  int64_t peak_memory() const override { return peak_; }
  int64_t free_memory() const override {
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    return int64_t(free_b);
  }
  void download(void* host, const void* src, size_t bytes) override {
    check(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, stream_), "download");
    check(cudaStreamSynchronize(stream_), "download");
  }

  // ---- the batch: one upload of ids, rope rows, sequences, scored rows and targets ----
  void set_batch(const Batch& b) override {
    rows_ = int64_t(b.ids.size());
    scored_ = int64_t(b.score_rows.size());
    n_seqs_ = int(b.seqs.size());
    max_len_ = 0;
    for (const SeqSpan& s : b.seqs) max_len_ = std::max(max_len_, s.length);
    // Layout: seqs (16-byte aligned) | ids | rope_rows | score_rows | targets.
    const size_t seq_bytes = b.seqs.size() * sizeof(DevSeqSpan);
    const size_t bytes = seq_bytes + 4 * (b.ids.size() + b.rope_rows.size() + b.score_rows.size() + b.targets.size());
    if (bytes > kBatchHost) internal_error("cuda: a batch of {} rows is larger than the upload buffer", rows_);
    if (batch_done_) check(cudaEventSynchronize(batch_done_), "batch");  // the last upload left the pinned buffer
    char* p = static_cast<char*>(batch_host_);
    for (const SeqSpan& s : b.seqs) {
      const DevSeqSpan d{s.offset, s.length};
      std::memcpy(p, &d, sizeof d);
      p += sizeof d;
    }
    auto put = [&](std::span<const int32_t> v) {
      std::memcpy(p, v.data(), v.size() * 4);
      p += v.size() * 4;
    };
    put(b.ids);
    put(b.rope_rows);
    put(b.score_rows);
    put(b.targets);
    if (batch_dev_bytes_ < bytes) {
      batch_dev_ = DeviceMemory(bytes, "the batch");
      batch_dev_bytes_ = bytes;
    }
    check(cudaMemcpyAsync(batch_dev_.ptr, batch_host_, bytes, cudaMemcpyHostToDevice, stream_), "set_batch");
    if (!batch_done_) check(cudaEventCreateWithFlags(&batch_done_, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaEventRecord(batch_done_, stream_), "set_batch");
    char* d = static_cast<char*>(batch_dev_.ptr);
    seqs_dev_ = reinterpret_cast<const DevSeqSpan*>(d);
    ids_dev_ = reinterpret_cast<const int32_t*>(d + seq_bytes);
    rope_rows_dev_ = ids_dev_ + b.ids.size();
    score_rows_dev_ = rope_rows_dev_ + b.rope_rows.size();
    targets_dev_ = score_rows_dev_ + b.score_rows.size();
    if (logprobs_count_ < scored_) {
      logprobs_dev_ = DeviceMemory(size_t(scored_) * 8, "log-probabilities");
      logprobs_count_ = scored_;
    }
  }

  void download_logprobs(std::span<double> out) override {
    if (int64_t(out.size()) != scored_) internal_error("download_logprobs: {} values for {}", out.size(), scored_);
    check(cudaMemcpyAsync(out.data(), logprobs_dev_.ptr, out.size() * 8, cudaMemcpyDeviceToHost, stream_),
          "download_logprobs");
    check(cudaStreamSynchronize(stream_), "the forward pass");
    note_memory();
  }

  // ---- ops ----
  void embed(const Tensor& table, float* h) override {
    const CudaTensor& t = cuda_tensor(table);
    cuda::embed(t.data(), t.type == DType::bf16, t.cols, ids_dev_, rows_, h, stream_);
    check_launch("embed");
  }

  void norm(NormKind, const float* h, const Tensor& w, const Tensor* b, int64_t m, float eps, void* y) override {
    if (b) internal_error("cuda: a norm bias is not supported yet");
    const int64_t n = w.rows * w.cols;
    if (bf16_)
      cuda::rmsnorm(h, cuda_tensor(w).f32(), m, n, eps, static_cast<bf16*>(y), stream_);
    else
      cuda::rmsnorm(h, cuda_tensor(w).f32(), m, n, eps, static_cast<float*>(y), stream_);
    check_launch("rmsnorm");
  }

  void add_norm(NormKind, float* h, const void* delta, const Tensor& w, const Tensor* b, int64_t m, float eps,
                void* y) override {
    if (b) internal_error("cuda: a norm bias is not supported yet");
    const int64_t n = w.rows * w.cols;
    if (bf16_)
      cuda::add_rmsnorm(h, static_cast<const bf16*>(delta), n, cuda_tensor(w).f32(), m, n, eps, static_cast<bf16*>(y),
                        stream_);
    else
      cuda::add_rmsnorm(h, static_cast<const float*>(delta), n, cuda_tensor(w).f32(), m, n, eps,
                        static_cast<float*>(y), stream_);
    check_launch("add_rmsnorm");
  }

  void add(float* h, const void* delta, int64_t m, int64_t n) override {
    if (bf16_)
      cuda::add_rows(h, static_cast<const bf16*>(delta), n, m, n, stream_);
    else
      cuda::add_rows(h, static_cast<const float*>(delta), n, m, n, stream_);
    check_launch("add_rows");
  }

  void norm_act(NormKind, void* x, const Tensor& w, int64_t m, float eps) override {
    const int64_t n = w.rows * w.cols;
    if (bf16_)
      cuda::rmsnorm_inplace(static_cast<bf16*>(x), cuda_tensor(w).f32(), m, n, eps, stream_);
    else
      cuda::rmsnorm_inplace(static_cast<float*>(x), cuda_tensor(w).f32(), m, n, eps, stream_);
  }

  void to_act(const float* x, int64_t n, void* y) override {
    if (bf16_)
      cuda::f32_to_bf16(x, n, static_cast<bf16*>(y), stream_);
    else if (y != x)
      check(cudaMemcpyAsync(y, x, size_t(n) * 4, cudaMemcpyDeviceToDevice, stream_), "to_act");
  }

  void scale(float* h, int64_t n, float s) override { cuda::scale(h, n, s, stream_); }

  void matmul_many(const void* x, int64_t m, std::span<const Product> products) override {
    for (const Product& p : products) {
      const CudaTensor& w = cuda_tensor(*p.w);
      gemm(x, act_type(), w.cols, m, w, 0, w.rows, p.bias, p.y, act_type(), w.rows);
    }
  }

  // Gate and up products side by side into one [rows, 2I] buffer, silu(gate) * up into act
  // [rows, I], then the down product; rows in blocks that bound the scratch.
  void gated_mlp(const void* x, int64_t m, const Mlp& mlp, void* y) override {
    const int64_t H = mlp.gate->cols, I = mlp.gate->rows, Ho = mlp.down->rows;
    const size_t A = act_bytes();
    const int64_t block = std::max<int64_t>(256, std::min<int64_t>(m, kMlpScratch / (3 * I * int64_t(A))));
    const size_t need = size_t(std::min(block, m)) * 3 * size_t(I) * A;
    if (mlp_scratch_bytes_ < need) {
      mlp_scratch_ = DeviceMemory(need, "the MLP's activations");
      mlp_scratch_bytes_ = need;
    }
    char* gu = static_cast<char*>(mlp_scratch_.ptr);
    for (int64_t r0 = 0; r0 < m; r0 += block) {
      const int64_t rows = std::min(block, m - r0);
      char* act = gu + size_t(rows) * 2 * I * A;
      const char* xr = static_cast<const char*>(x) + size_t(r0) * H * A;
      gemm(xr, act_type(), H, rows, cuda_tensor(*mlp.gate), 0, I, mlp.bgate, gu, act_type(), 2 * I);
      gemm(xr, act_type(), H, rows, cuda_tensor(*mlp.up), 0, I, mlp.bup, gu + I * A, act_type(), 2 * I);
      const bool silu = mlp.act == Act::silu;
      if (bf16_) {
        const auto* g = reinterpret_cast<const bf16*>(gu);
        auto* a = reinterpret_cast<bf16*>(act);
        if (silu) cuda::silu_mul(g, 2 * I, rows, I, a, stream_);
        else cuda::gelu_tanh_mul(g, 2 * I, rows, I, a, stream_);
      } else {
        const auto* g = reinterpret_cast<const float*>(gu);
        auto* a = reinterpret_cast<float*>(act);
        if (silu) cuda::silu_mul(g, 2 * I, rows, I, a, stream_);
        else cuda::gelu_tanh_mul(g, 2 * I, rows, I, a, stream_);
      }
      check_launch("gated MLP activation");
      gemm(act, act_type(), I, rows, cuda_tensor(*mlp.down), 0, Ho, mlp.bdown, static_cast<char*>(y) + size_t(r0) * Ho * A,
           act_type(), Ho);
    }
  }

  void rope(void* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, const Tensor& cos, const Tensor& sin) override {
    const int64_t ld = n_heads * head_dim;
    if (bf16_)
      cuda::rope(static_cast<bf16*>(x), ld, 0, rows_, n_heads, head_dim, rot_dim, rope_rows_dev_, cuda_tensor(cos).f32(),
                 cuda_tensor(sin).f32(), stream_);
    else
      cuda::rope(static_cast<float*>(x), ld, 0, rows_, n_heads, head_dim, rot_dim, rope_rows_dev_,
                 cuda_tensor(cos).f32(), cuda_tensor(sin).f32(), stream_);
    check_launch("rope");
  }

  void attention(const void* q, const void* k, const void* v, void* out, int64_t n_heads, int64_t n_kv_heads,
                 int64_t head_dim, float scale, int64_t window, float softcap) override {
    const int64_t ldq = n_heads * head_dim, ldk = n_kv_heads * head_dim;
    if (softcap > 0) {  // Gemma 2: the plain kernel (attention_softcap.cu), not the flash ones
      if (bf16_)
        cuda::attention_softcap(static_cast<const bf16*>(q), ldq, static_cast<const bf16*>(k), ldk,
                                static_cast<const bf16*>(v), ldk, static_cast<bf16*>(out), ldq, seqs_dev_, n_seqs_,
                                max_len_, int(n_heads), int(n_kv_heads), int(head_dim), scale, window, softcap, stream_);
      else
        cuda::attention_softcap(static_cast<const float*>(q), ldq, static_cast<const float*>(k), ldk,
                                static_cast<const float*>(v), ldk, static_cast<float*>(out), ldq, seqs_dev_, n_seqs_,
                                max_len_, int(n_heads), int(n_kv_heads), int(head_dim), scale, window, softcap, stream_);
      return;
    }
    if (bf16_)
      cuda::attention(static_cast<const bf16*>(q), ldq, static_cast<const bf16*>(k), ldk, static_cast<const bf16*>(v),
                      ldk, static_cast<bf16*>(out), ldq, seqs_dev_, n_seqs_, max_len_, int(n_heads), int(n_kv_heads),
                      int(head_dim), scale, window, stream_);
    else
      cuda::attention(static_cast<const float*>(q), ldq, static_cast<const float*>(k), ldk,
                      static_cast<const float*>(v), ldk, static_cast<float*>(out), ldq, seqs_dev_, n_seqs_, max_len_,
                      int(n_heads), int(n_kv_heads), int(head_dim), scale, window, stream_);
    check_launch("attention");
  }

  void gather_scored(const float* h, int64_t n, float* out) override {
    cuda::gather_rows(h, n, score_rows_dev_, scored_, n, out, stream_);
    check_launch("gather_rows");
  }

  // The head in vocabulary chunks: logits [S, chunk] in float32 from one product, each chunk's
  // max and sum of exp per row, then the rows' log-softmax at their targets, combined in float64.
  void logprobs(const void* x, const Tensor& w_t, float softcap) override {
    const CudaTensor& w = cuda_tensor(w_t);
    const int64_t S = scored_, vocab = w.rows, k = w.cols;
    if (S == 0) return;
    // Rows in blocks and the vocabulary in chunks so the logits stay under kHeadScratch bytes.
    const int64_t chunk = std::min<int64_t>((vocab + 255) / 256 * 256, 32768);
    const int64_t row_block = std::max<int64_t>(1, std::min<int64_t>(S, kHeadScratch / (chunk * 4)));
    const int chunks = int((vocab + chunk - 1) / chunk);
    const size_t need_logits = size_t(row_block * chunk) * 4, need_stats = size_t(chunks) * row_block * 2 * 4 + size_t(row_block) * 4;
    if (head_logits_bytes_ < need_logits) {
      head_logits_ = DeviceMemory(need_logits, "the head's logits");
      head_logits_bytes_ = need_logits;
    }
    if (head_stats_bytes_ < need_stats) {
      head_stats_ = DeviceMemory(need_stats, "the head's statistics");
      head_stats_bytes_ = need_stats;
    }
    float* logits = static_cast<float*>(head_logits_.ptr);
    float* stats = static_cast<float*>(head_stats_.ptr);
    float* target_logit = stats + size_t(chunks) * row_block * 2;
    const size_t A = act_bytes();
    for (int64_t r0 = 0; r0 < S; r0 += row_block) {
      const int64_t rows = std::min(row_block, S - r0);
      const void* xr = static_cast<const char*>(x) + size_t(r0) * k * A;
      for (int c = 0; c < chunks; ++c) {
        const int64_t v0 = int64_t(c) * chunk, nv = std::min(chunk, vocab - v0);
        gemm(xr, act_type(), k, rows, w, v0, nv, nullptr, logits, DType::f32, nv);
        if (softcap > 0) cuda::softcap_rows(logits, rows * nv, softcap, stream_);
        cuda::logits_chunk_stats(logits, nv, rows, nv, v0, c, targets_dev_ + r0, stats, target_logit, stream_);
        check_launch("logits_chunk_stats");
      }
      cuda::logits_combine(stats, chunks, rows, target_logit, static_cast<double*>(logprobs_dev_.ptr) + r0, stream_);
      check_launch("logits_combine");
    }
  }

 private:
  // Device memory in use (all processes' allocations on this GPU: what nvidia-smi shows), its
  // peak sampled after each forward pass, when the activations and scratch are all allocated.
  void note_memory() {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) peak_ = std::max(peak_, int64_t(total_b - free_b));
  }

  static constexpr size_t kWorkspace = size_t(64) << 20;     // cuBLASLt's, for split-K and the like
  static constexpr size_t kStaging = size_t(32) << 20;       // per pinned upload buffer
  static constexpr size_t kBatchHost = size_t(64) << 20;     // the batch's pinned upload buffer
  static constexpr int64_t kMlpScratch = int64_t(2) << 30;   // bytes of gate/up/act per block of rows
  static constexpr int64_t kHeadScratch = int64_t(1) << 30;  // bytes of logits per row block

  // A cuBLASLt product and its algorithm, made once per shape and kept.
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  // Shape, types, bias, and the operands' alignments (cuBLASLt's heuristic assumes 256-byte
  // aligned pointers unless told otherwise; a row block or a column slice may be less aligned).
  using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int, int, int, bool, int, int, int>;

  static int alignment(const void* p) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    int align = 256;
    while (align > 1 && a % uintptr_t(align) != 0) align /= 2;
    return align;
  }

  // y[m, n] (row stride ldy) = x[m, k] w[row0 : row0 + n, :]^T (+ bias[row0 ...]). In cuBLASLt's
  // column-major terms: y^T [n, m] = W [n, k] x^T, i.e. op(A) = transpose of the weights (k x n
  // column-major), B = x^T (k x m column-major, ld k), D = y^T (n x m, ld ldy).
  void gemm(const void* x, DType xt, int64_t k, int64_t m, const CudaTensor& w, int64_t row0, int64_t n,
            const Tensor* bias, void* y, DType yt, int64_t ldy) {
    if (m == 0 || n == 0) return;
    const bool with_bias = bias != nullptr;
    const void* a = static_cast<const char*>(w.data()) + size_t(row0) * k * dtype_bytes(w.type);
    const int align_a = alignment(a), align_b = alignment(x), align_d = alignment(y);
    const PlanKey key{m, n, k, ldy, int(xt), int(w.type), int(yt), with_bias, align_a, align_b, align_d};
    auto it = plans_.find(key);
    if (it == plans_.end())
      it = plans_.emplace(key, make_plan(m, n, k, ldy, xt, w.type, yt, with_bias, align_a, align_b, align_d)).first;
    Plan& plan = it->second;
    if (with_bias) {
      const CudaTensor& bt = cuda_tensor(*bias);
      const void* bp = yt == DType::bf16 ? static_cast<const char*>(bt.mem_bf16.ptr) + row0 * 2
                                         : static_cast<const char*>(bt.mem.ptr) + row0 * 4;
      check(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp), "bias");
    }
    const float alpha = 1.0f, beta = 0.0f;
    check(cublasLtMatmul(lt_, plan.desc, &alpha, a, plan.a, x, plan.b, &beta, y, plan.d, y, plan.d, &plan.algo,
                         workspace_.ptr, kWorkspace, stream_),
          "cublasLtMatmul");
  }

  Plan make_plan(int64_t m, int64_t n, int64_t k, int64_t ldy, DType xt, DType wt, DType yt, bool bias, int align_a,
                 int align_b, int align_d) {
    Plan p;
    check(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "descriptor");
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), "transa");
    check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), "transb");
    if (bias) {
      const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
      check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi), "epilogue");
      const int32_t bt = cuda_type(yt);
      check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt), "bias type");
    }
    check(cublasLtMatrixLayoutCreate(&p.a, cuda_type(wt), uint64_t(k), uint64_t(n), k), "layout A");
    check(cublasLtMatrixLayoutCreate(&p.b, cuda_type(xt), uint64_t(k), uint64_t(m), k), "layout B");
    check(cublasLtMatrixLayoutCreate(&p.d, cuda_type(yt), uint64_t(n), uint64_t(m), ldy), "layout D");
    cublasLtMatmulPreference_t pref;
    check(cublasLtMatmulPreferenceCreate(&pref), "preference");
    const uint64_t ws = kWorkspace;
    check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws), "ws");
    const uint32_t al[4] = {uint32_t(align_a), uint32_t(align_b), uint32_t(align_d), uint32_t(align_d)};
    const cublasLtMatmulPreferenceAttributes_t al_attr[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4; ++i)
      check(cublasLtMatmulPreferenceSetAttribute(pref, al_attr[i], &al[i], sizeof al[i]), "alignment");
    // No in-place split-K reduction (partial sums added into the output in whatever order they
    // finish): only schemes that reduce in a separate, ordered step.
    const uint32_t schemes = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE | CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE;
    check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &schemes, sizeof schemes),
          "reduction schemes");
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(lt_, p.desc, p.a, p.b, p.d, p.d, pref, 1, &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s != CUBLAS_STATUS_SUCCESS || found == 0)
      internal_error("cuBLASLt has no algorithm for a {} x {} x {} product ({} -> {})", m, n, k,
                     xt == DType::bf16 ? "bf16" : "f32", yt == DType::bf16 ? "bf16" : "f32");
    p.algo = result.algo;
    return p;
  }

  struct Staging {
    void* host = nullptr;
    cudaEvent_t done = nullptr;
  };

  int device_;
  bool bf16_;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  DeviceMemory workspace_;
  Staging staging_[2];
  std::map<PlanKey, Plan> plans_;
  // The batch.
  void* batch_host_ = nullptr;
  cudaEvent_t batch_done_ = nullptr;
  DeviceMemory batch_dev_;
  size_t batch_dev_bytes_ = 0;
  const DevSeqSpan* seqs_dev_ = nullptr;
  const int32_t *ids_dev_ = nullptr, *rope_rows_dev_ = nullptr, *score_rows_dev_ = nullptr, *targets_dev_ = nullptr;
  int64_t rows_ = 0, scored_ = 0, max_len_ = 0;
  int n_seqs_ = 0;
  DeviceMemory logprobs_dev_;
  int64_t logprobs_count_ = 0;
  int64_t peak_ = 0;
  // Scratch kept between batches.
  DeviceMemory mlp_scratch_, head_logits_, head_stats_;
  size_t mlp_scratch_bytes_ = 0, head_logits_bytes_ = 0, head_stats_bytes_ = 0;
};

}  // namespace

bool cuda_compiled() { return true; }

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

std::unique_ptr<Backend> make_cuda_backend(int device, const std::string& precision) {
  if (precision != "f32" && precision != "bf16") usage_error("--precision {}: expected f32 or bf16", precision);
  return std::make_unique<CudaBackend>(device, precision);
}

}  // namespace ziq::backend
