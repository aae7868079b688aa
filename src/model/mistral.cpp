// MistralForCausalLM: the Llama math, with a sliding attention window on every layer when
// config.json sets sliding_window (Mistral 7B v0.1: 4096, longer than the paper's windows, so
// it only matters for longer contexts; v0.2+ set null).
#include "core/error.h"
#include "model/decoder.h"

namespace ziq::model {

DecoderSpec mistral_spec(const ModelConfig& c) {
  require_silu(c);
  DecoderSpec s;
  const int64_t window = config_int(c, "sliding_window", 0);
  if (window < 0) input_error("{}: field 'sliding_window' must be positive, not {}", c.path, window);
  s.window.assign(c.n_layers, window);
  return s;
}

}  // namespace ziq::model
