// config.json of a Hugging Face causal language model: the fields every Llama-family decoder
// needs, read from both styles found in the wild (rope_theta / rope_scaling at the top level as
// transformers 4 writes them, rope_parameters as transformers 5 does). A missing required field
// is an input error naming config.json and the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace ziq::model {

struct RopeConfig {
  std::string type = "default";  // default, linear, dynamic, llama3
  double theta = 10000.0;
  double factor = 1.0;
  double low_freq_factor = 1.0;                  // llama3
  double high_freq_factor = 4.0;                 // llama3
  int64_t original_max_position_embeddings = 0;  // llama3
};

struct ModelConfig {
  std::string path;          // config.json, for messages
  std::string architecture;  // architectures[0]
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  RopeConfig rope;
  nlohmann::json raw;  // the whole file, for architecture-specific fields
};

ModelConfig read_config(const std::string& folder);

// Helpers for architecture files: typed access with errors naming config.json and the field.
int64_t config_int(const ModelConfig& c, const char* field, int64_t fallback);
bool config_bool(const ModelConfig& c, const char* field, bool fallback);
// The SwiGLU families: hidden_act must be silu when present (exit 3 naming config.json otherwise).
void require_silu(const ModelConfig& c);

}  // namespace ziq::model
