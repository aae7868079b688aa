// Olmo2ForCausalLM (OLMo 2): post-norms instead of pre-norms. Each sub-block reads the residual
// stream itself and its output is normalized before the residual add:
//   h = h + post_attention_layernorm(attention(h)),  h = h + post_feedforward_layernorm(mlp(h)),
// and q and k are RMS-normalized over their full widths (self_attn.q_norm: heads * head_dim
// weights, k_norm: kv_heads * head_dim) after their products, before rope. Final norm, head and
// SwiGLU MLP as Llama; attention_bias adds q/k/v/o biases.
#include "model/decoder.h"

namespace ziq::model {

DecoderSpec olmo2_spec(const ModelConfig& c) {
  require_silu(c);
  DecoderSpec s;
  s.qkv_bias = s.o_bias = config_bool(c, "attention_bias", false);
  s.window.assign(c.n_layers, 0);
  s.qk_norm = QkNorm::full;
  s.pre_attn_norm.clear();
  s.pre_mlp_norm.clear();
  s.post_attn_norm = "post_attention_layernorm";
  s.post_mlp_norm = "post_feedforward_layernorm";
  return s;
}

}  // namespace ziq::model
