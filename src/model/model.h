// A language model as the scorer sees it: given windows of token ids, the log-probability of each
// scored target. Architectures (one file each: llama.cpp, qwen2.cpp, ...) implement this over the
// backend interface; the scorer never knows which architecture or backend runs.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ziq::model {

struct ModelInfo {
  std::string architecture;   // e.g. "LlamaForCausalLM"
  std::string name;           // folder name or org/name
  std::string path;           // resolved folder
  std::string dtype;          // storage dtype of the weights: "bf16", "f16", "f32"
  std::string fingerprint;    // hash of config.json and the safetensors headers
  int64_t vocab_size = 0;
  int64_t n_layers = 0;
  int64_t hidden_size = 0;
  int64_t n_params = 0;
  int64_t max_positions = 0;
};

// One window: tokens[0, length). Targets tokens[j] for j in [score_begin, length) are scored, each
// predicted from tokens[0, j). The model therefore runs on tokens[0, length - 1).
struct ScoreRequest {
  const int32_t* tokens = nullptr;
  int64_t length = 0;
  int64_t score_begin = 1;
};

struct ScoreResult {
  double nll_nats = 0;                // sum of -ln p(target) over scored targets, accumulated in f64
  std::vector<float> token_logprobs;  // ln p per scored target, when asked for
};

struct LoadOptions {
  std::string backend = "cpu";  // "cpu" (later "cuda")
  int threads = 0;              // 0 = all cores
  // "f32": float32 arithmetic throughout, equal to transformers' float32 forward (the default).
  // "bf16": matrix-product inputs rounded to bf16 (float32 accumulation), and on AMX CPUs the
  // attention's q, k, v and softmax weights too; about twice as fast on CPUs with AVX-512 BF16 or
  // AMX; log-probabilities move by ~1e-2, as in a bfloat16 transformers run.
  std::string precision = "f32";
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual const ModelInfo& info() const = 0;
  // One call at a time per model (the backend reuses its buffers). A window's result is the same
  // bit for bit whatever else is in the batch and whatever the thread count.
  virtual void score(std::span<const ScoreRequest> batch, std::span<ScoreResult> out,
                     bool want_token_logprobs) = 0;
};

// `ref` is a model folder, or "org/name" found offline in the Hugging Face cache
// (HF_HOME or ~/.cache/huggingface/hub: models--org--name/snapshots/REV).
std::string resolve_model_path(const std::string& ref);
std::unique_ptr<LanguageModel> load_model(const std::string& ref, const LoadOptions& options = {});

}  // namespace ziq::model
