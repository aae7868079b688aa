#include "model/rope.h"

#include <cmath>
#include <numbers>

namespace ziq::model {

namespace {

std::vector<float> default_inv_freq(float base, int64_t dim) {
  std::vector<float> inv(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i) inv[i] = 1.0f / std::pow(base, float(2 * i) / float(dim));
  return inv;
}

}  // namespace

std::vector<float> rope_inv_freq(const ModelConfig& c, int64_t seq_len) {
  const RopeConfig& r = c.rope;
  const int64_t dim = c.head_dim;
  if (r.type == "linear") {
    auto inv = default_inv_freq(float(r.theta), dim);
    for (float& f : inv) f /= float(r.factor);
    return inv;
  }
  if (r.type == "dynamic" && seq_len > c.max_position_embeddings) {
    const float factor = float(r.factor);
    float t = factor * float(seq_len) / float(c.max_position_embeddings) - float(r.factor - 1);
    t = std::pow(t, float(double(dim) / double(dim - 2)));
    return default_inv_freq(float(r.theta) * t, dim);
  }
  auto inv = default_inv_freq(float(r.theta), dim);
  if (r.type == "llama3") {
    const double old_len = double(r.original_max_position_embeddings);
    const float low_wavelen = float(old_len / r.low_freq_factor);
    const float high_wavelen = float(old_len / r.high_freq_factor);
    const float factor = float(r.factor);
    for (float& f : inv) {
      const float wavelen = float(2 * std::numbers::pi) / f;
      const float scaled = wavelen > low_wavelen ? f / factor : f;
      if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
        const float smooth = (float(old_len) / wavelen - float(r.low_freq_factor)) /
                             float(r.high_freq_factor - r.low_freq_factor);
        f = (1.0f - smooth) * scaled / factor + smooth * scaled;
      } else {
        f = scaled;
      }
    }
  }
  return inv;
}

void rope_tables(const std::vector<float>& inv_freq, int64_t n, std::vector<float>& cos, std::vector<float>& sin) {
  const size_t half = inv_freq.size();
  for (int64_t p = 0; p < n; ++p)
    for (size_t j = 0; j < half; ++j) {
      const float angle = float(p) * inv_freq[j];  // one float32 product, as transformers' matmul
      cos.push_back(float(std::cos(double(angle))));
      sin.push_back(float(std::sin(double(angle))));
    }
}

}  // namespace ziq::model
