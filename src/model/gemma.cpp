// GemmaForCausalLM (Gemma 1) and Gemma2ForCausalLM.
//
// Gemma 1: the Llama block with three differences. The embedding is scaled by
// sqrt(hidden_size) (in float32, as transformers' float32 run does), every RMSNorm multiplies by
// (1 + w) (folded into the weight at load), and the MLP is GeGLU with the tanh GELU: transformers
// 4.x reads hidden_activation (null: gelu_pytorch_tanh), transformers 5 hidden_act with its legacy
// "gelu" meaning the tanh form, so both give gelu_pytorch_tanh on every released config. Tied
// embeddings, head_dim from config.json (256 in the released models).
//
// Gemma 2 adds: post-norms (post_attention_layernorm on the attention output and
// post_feedforward_layernorm on the MLP's, before the residual adds; pre_feedforward_layernorm
// is the MLP's pre-norm), attention scores scaled by query_pre_attn_scalar^-0.5 and capped as
// attn_logit_softcapping * tanh(x / attn_logit_softcapping), the head's logits likewise by
// final_logit_softcapping (either null: no cap), and sliding windows on the layers layer_types
// names "sliding_attention" (transformers 4.x: the even layers, what layer_types defaults to).
#include <cmath>

#include "core/error.h"
#include "model/decoder.h"

namespace ziq::model {

namespace {

// hidden_activation when set (an exact "gelu" there would mean the erf form: refused), else
// hidden_act, whose legacy "gelu" means the tanh form.
backend::Backend::Act gemma_activation(const ModelConfig& c) {
  for (const char* field : {"hidden_activation", "hidden_act"}) {
    auto it = c.raw.find(field);
    if (it == c.raw.end() || it->is_null()) continue;
    if (*it == "gelu_pytorch_tanh" || (*it == "gelu" && field == std::string("hidden_act")))
      return backend::Backend::Act::gelu_tanh;
    input_error("{}: {} {} is not supported for {} (ziq runs gelu_pytorch_tanh)", c.path, field, it->dump(),
                c.architecture);
  }
  return backend::Backend::Act::gelu_tanh;
}

double positive(const ModelConfig& c, const char* field, double fallback) {
  auto it = c.raw.find(field);
  if (it == c.raw.end()) return fallback;
  if (it->is_null()) return 0;
  if (!it->is_number() || !(it->get<double>() > 0))
    input_error("{}: field '{}' is {}, not a positive number", c.path, field, it->dump());
  return it->get<double>();
}

}  // namespace

DecoderSpec gemma_spec(const ModelConfig& c) {
  if (config_bool(c, "use_bidirectional_attention", false))
    input_error("{}: use_bidirectional_attention true is not supported (ziq runs causal attention)", c.path);
  DecoderSpec s;
  s.qkv_bias = s.o_bias = config_bool(c, "attention_bias", false);
  s.window.assign(c.n_layers, 0);
  s.mlp_act = gemma_activation(c);
  s.norm_offset = 1;
  s.embed_scale = float(std::sqrt(double(c.hidden_size)));
  return s;
}

DecoderSpec gemma2_spec(const ModelConfig& c) {
  DecoderSpec s = gemma_spec(c);
  s.post_attn_norm = "post_attention_layernorm";
  s.pre_mlp_norm = "pre_feedforward_layernorm";
  s.post_mlp_norm = "post_feedforward_layernorm";
  const double scalar = positive(c, "query_pre_attn_scalar", 256);
  if (scalar <= 0) input_error("{}: field 'query_pre_attn_scalar' is null", c.path);
  s.attn_scale = float(1.0 / std::sqrt(scalar));
  s.attn_softcap = float(positive(c, "attn_logit_softcapping", 50.0));
  s.final_softcap = float(positive(c, "final_logit_softcapping", 30.0));
  const int64_t window = config_int(c, "sliding_window", 4096);
  if (window < 0) input_error("{}: field 'sliding_window' must be positive, not {}", c.path, window);
  auto types = c.raw.find("layer_types");
  for (int64_t i = 0; i < c.n_layers; ++i) s.window[i] = i % 2 == 0 ? window : 0;
  if (types != c.raw.end() && !types->is_null()) {
    if (!types->is_array() || int64_t(types->size()) != c.n_layers)
      input_error("{}: layer_types is not a list of {} layer types", c.path, c.n_layers);
    for (int64_t i = 0; i < c.n_layers; ++i) {
      const auto& t = (*types)[i];
      if (t != "sliding_attention" && t != "full_attention")
        input_error("{}: layer_types[{}] is {}, not sliding_attention or full_attention", c.path, i, t.dump());
      s.window[i] = t == "sliding_attention" ? window : 0;
    }
  }
  return s;
}

}  // namespace ziq::model
