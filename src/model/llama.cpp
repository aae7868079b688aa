// LlamaForCausalLM: Llama 1/2/3 and the many models shaped like it (Yi, DeepSeek-LLM, CodeLlama,
// Llemma, DeepSeek-Coder). attention_bias adds biases to q/k/v/o, mlp_bias to the MLP.
#include "model/decoder.h"

namespace ziq::model {

DecoderSpec llama_spec(const ModelConfig& c) {
  require_silu(c);
  DecoderSpec s;
  s.qkv_bias = s.o_bias = config_bool(c, "attention_bias", false);
  s.mlp_bias = config_bool(c, "mlp_bias", false);
  s.window.assign(c.n_layers, 0);
  return s;
}

}  // namespace ziq::model
