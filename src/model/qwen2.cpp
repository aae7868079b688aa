// Qwen2ForCausalLM (Qwen1.5, Qwen2, Qwen2.5): the Llama math with biases on q/k/v. Sliding
// windows apply only when use_sliding_window is true, to the layers layer_types names
// "sliding_attention" (or, in older configs, to layers from max_window_layers on).
#include "core/error.h"
#include "model/decoder.h"

namespace ziq::model {

DecoderSpec qwen2_spec(const ModelConfig& c) {
  require_silu(c);
  DecoderSpec s;
  s.qkv_bias = true;
  s.window.assign(c.n_layers, 0);
  if (!config_bool(c, "use_sliding_window", false)) return s;
  const int64_t window = config_int(c, "sliding_window", 0);
  if (window <= 0) return s;
  auto types = c.raw.find("layer_types");
  if (types != c.raw.end() && types->is_array()) {
    if (int64_t(types->size()) != c.n_layers)
      input_error("{}: layer_types lists {} layers, num_hidden_layers is {}", c.path, types->size(), c.n_layers);
    for (int64_t i = 0; i < c.n_layers; ++i)
      if ((*types)[i] == "sliding_attention") s.window[i] = window;
    return s;
  }
  const int64_t first = config_int(c, "max_window_layers", c.n_layers);
  for (int64_t i = first; i < c.n_layers; ++i) s.window[i] = window;
  return s;
}

}  // namespace ziq::model
