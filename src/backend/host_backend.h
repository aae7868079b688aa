// What the backends that compute in host memory (reference, cpu) share: buffers are host memory,
// so uploads and downloads are copies, and the batch is kept as host vectors.
#pragma once

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"

namespace ziq::backend {

class HostBackend : public Backend {
 public:
  void upload(void* dst, const void* host, size_t bytes) override { std::memcpy(dst, host, bytes); }
  void download(void* host, const void* src, size_t bytes) override { std::memcpy(host, src, bytes); }

  void set_batch(const Batch& b) override {
    ids_.assign(b.ids.begin(), b.ids.end());
    rope_rows_.assign(b.rope_rows.begin(), b.rope_rows.end());
    seqs_.assign(b.seqs.begin(), b.seqs.end());
    score_rows_.assign(b.score_rows.begin(), b.score_rows.end());
    targets_.assign(b.targets.begin(), b.targets.end());
    logprobs_.assign(score_rows_.size(), std::numeric_limits<double>::quiet_NaN());
  }
  void download_logprobs(std::span<double> out) override {
    if (out.size() != logprobs_.size()) internal_error("download_logprobs: {} values for {}", out.size(), logprobs_.size());
    std::copy(logprobs_.begin(), logprobs_.end(), out.begin());
  }

  // Activations are float32 here: the in-place norm is the backend's norm on x itself (each
  // backend's norm reads a row's sum of squares before it writes the row), to_act a copy.
  void norm_act(NormKind kind, void* x, const Tensor& w, int64_t m, float eps) override {
    norm(kind, static_cast<const float*>(x), w, nullptr, m, eps, x);
  }
  void to_act(const float* x, int64_t n, void* y) override {
    if (y != x) std::memcpy(y, x, size_t(n) * 4);
  }
  void scale(float* h, int64_t n, float s) override {
    for (int64_t i = 0; i < n; ++i) h[i] *= s;
  }

 protected:
  // The batch (set_batch) and the head's results (logprobs writes them).
  std::vector<int32_t> ids_, rope_rows_, score_rows_, targets_;
  std::vector<SeqSpan> seqs_;
  std::vector<double> logprobs_;
};

}  // namespace ziq::backend
