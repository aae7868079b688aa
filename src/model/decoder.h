// The Llama-family decoder that LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM share:
// embedding, N x (RMSNorm, attention with rotary positions and grouped KV heads, RMSNorm, SwiGLU
// MLP), final RMSNorm, head. It is written once over the backend interface (backend/backend.h)
// and runs on every backend. What differs between families (biases, sliding windows) is a
// DecoderSpec that each architecture file derives from config.json.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"
#include "model/model.h"
#include "model/safetensors.h"

namespace ziq::model {

struct DecoderSpec {
  bool qkv_bias = false;        // q_proj, k_proj, v_proj have biases
  bool o_bias = false;          // o_proj has a bias
  bool mlp_bias = false;        // gate/up/down projections have biases
  std::vector<int64_t> window;  // per layer: 0 = full causal attention, w = last w keys only
};

// One function per architecture file (llama.cpp, mistral.cpp, qwen2.cpp).
DecoderSpec llama_spec(const ModelConfig& c);
DecoderSpec mistral_spec(const ModelConfig& c);
DecoderSpec qwen2_spec(const ModelConfig& c);

// Weights from the checkpoint, or (no checkpoint: benchmarks) seeded random bf16 weights made by
// the backend, with norm weights of 1 as transformers initialises them. Checkpoint tensors the
// model does not use (a config.json with fewer layers than the checkpoint) are refused, naming
// them, unless allow_unused_weights; then they are listed in ModelInfo::unused_tensors.
std::unique_ptr<LanguageModel> make_decoder(ModelConfig config, DecoderSpec spec, std::optional<Checkpoint> checkpoint,
                                            std::unique_ptr<backend::Backend> backend, ModelInfo info,
                                            uint64_t random_seed = 0, bool allow_unused_weights = false);

}  // namespace ziq::model
