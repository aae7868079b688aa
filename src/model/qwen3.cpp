// Qwen3ForCausalLM (Qwen3 dense models): the Llama math with an RMSNorm over each head of q and k
// (self_attn.q_norm / k_norm, weights of head_dim) after their products and before rope, head_dim
// from config.json (128 in the released models, not hidden / heads), q/k/v/o biases only when
// attention_bias is true (false in every released model). Sliding windows as Qwen2's.
#include "model/decoder.h"

namespace ziq::model {

DecoderSpec qwen3_spec(const ModelConfig& c) {
  DecoderSpec s = qwen2_spec(c);
  s.qkv_bias = s.o_bias = config_bool(c, "attention_bias", false);
  s.qk_norm = QkNorm::per_head;
  return s;
}

}  // namespace ziq::model
