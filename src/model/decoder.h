// The Llama-family decoder that LlamaForCausalLM, MistralForCausalLM, Qwen2/Qwen3ForCausalLM and
// Olmo2ForCausalLM share: embedding, N x (RMSNorm, attention with rotary positions and grouped KV
// heads, RMSNorm, gated MLP), final RMSNorm, head. It is written once over the backend interface
// (backend/backend.h) and runs on every backend. What differs between families (biases, sliding
// windows, q/k norms, where the block's norms sit) is a DecoderSpec that each architecture file
// derives from config.json.
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

// q/k norms (RMSNorm with the layer's self_attn.q_norm / k_norm weights) after the q and k
// products, before rope: none, over each head (Qwen3: weights of head_dim), or over the full q and
// k widths (OLMo 2: weights of heads * head_dim).
enum class QkNorm { none, per_head, full };

struct DecoderSpec {
  bool qkv_bias = false;        // q_proj, k_proj, v_proj have biases
  bool o_bias = false;          // o_proj has a bias
  bool mlp_bias = false;        // gate/up/down projections have biases
  std::vector<int64_t> window;  // per layer: 0 = full causal attention, w = last w keys only
  QkNorm qk_norm = QkNorm::none;
  // The block's norms, by their tensor name under model.layers.N. (empty: the block has none):
  // pre-norms give the attention / MLP its input (else it reads the residual stream itself),
  // post-norms normalize the attention / MLP output before the residual add.
  std::string pre_attn_norm = "input_layernorm", post_attn_norm;
  std::string pre_mlp_norm = "post_attention_layernorm", post_mlp_norm;
  backend::Backend::Act mlp_act = backend::Backend::Act::silu;
  float norm_offset = 0;   // every RMSNorm weight is norm_offset + w (Gemma: 1), folded at load
  float embed_scale = 1;   // the embedding is scaled by this (Gemma: sqrt(hidden_size), in float32)
  float attn_scale = 0;    // attention scores' scale; 0: 1 / sqrt(head_dim) (Gemma 2: query_pre_attn_scalar^-0.5)
  float attn_softcap = 0;  // > 0: attention scores x become softcap * tanh(x / softcap) (Gemma 2)
  float final_softcap = 0; // > 0: the same on the head's logits (Gemma 2)
};

// One function per architecture file (llama.cpp, mistral.cpp, qwen2.cpp, qwen3.cpp, olmo2.cpp, gemma.cpp).
DecoderSpec llama_spec(const ModelConfig& c);
DecoderSpec mistral_spec(const ModelConfig& c);
DecoderSpec qwen2_spec(const ModelConfig& c);
DecoderSpec qwen3_spec(const ModelConfig& c);
DecoderSpec olmo2_spec(const ModelConfig& c);
DecoderSpec gemma_spec(const ModelConfig& c);
DecoderSpec gemma2_spec(const ModelConfig& c);

// Weights from the checkpoint, or (no checkpoint: benchmarks) seeded random bf16 weights made by
// the backend, with norm weights of 1 as transformers initialises them. Checkpoint tensors the
// model does not use (a config.json with fewer layers than the checkpoint) are refused, naming
// them, unless allow_unused_weights; then they are listed in ModelInfo::unused_tensors.
std::unique_ptr<LanguageModel> make_decoder(ModelConfig config, DecoderSpec spec, std::optional<Checkpoint> checkpoint,
                                            std::unique_ptr<backend::Backend> backend, ModelInfo info,
                                            uint64_t random_seed = 0, bool allow_unused_weights = false);

}  // namespace ziq::model
