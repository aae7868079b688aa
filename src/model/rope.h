// Rotary position embeddings: the inverse frequencies of each rope type and the per-position
// cos/sin tables. The arithmetic follows transformers' float32 code step by step (same operation
// order, float32 at every step) so long-context positions round the same way.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace ziq::model {

// seq_len matters only for "dynamic" (NTK) scaling, which rescales the base once a sequence is
// longer than max_position_embeddings; transformers takes it as the length of the input it runs.
std::vector<float> rope_inv_freq(const ModelConfig& c, int64_t seq_len);

// Appends cos and sin of position * inv_freq for positions [0, n) to the tables (n x half each).
void rope_tables(const std::vector<float>& inv_freq, int64_t n, std::vector<float>& cos, std::vector<float>& sin);

}  // namespace ziq::model
