// A language model as the scorer sees it: given windows of token ids, the log-probability of each
// scored target. Architectures (one file each: llama.cpp, qwen2.cpp, ...) implement this over the
// backend interface; the scorer never knows which architecture or backend runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ziq::backend { class Backend; }

namespace ziq::model {

struct ModelInfo {
  std::string architecture;   // e.g. "LlamaForCausalLM"
  std::string name;           // folder name or org/name
  std::string path;           // resolved folder
  std::string dtype;          // storage dtype of the weights: "bf16", "f16", "f32"
  std::string fingerprint;    // hash of config.json and the safetensors headers
  // The weights files (empty for random weights); their content enters `ziq eval`'s run key.
  std::vector<std::string> weight_files;
  // Checkpoint tensors the model does not read (only with LoadOptions::allow_unused_weights).
  std::vector<std::string> unused_tensors;
  int64_t vocab_size = 0;
  int64_t n_layers = 0;
  int64_t hidden_size = 0;
  int64_t n_params = 0;
  int64_t max_positions = 0;
  std::string backend;    // the backend that runs it, e.g. "cpu (avx512-f32)", "cuda (NVIDIA H200)"
  std::string precision;  // the arithmetic it really runs: "f32" or "bf16"
  double load_seconds = 0;  // reading, converting and uploading the weights
  // For FLOP counts (benchmarks): parameters of the layers' matrix products (each costs 2 FLOPs per
  // token), FLOPs of attention per (query, key) pair over all layers (4 * heads * head_dim each),
  // and of the head per scored token (2 * vocab * hidden).
  int64_t linear_params = 0;
  int64_t attention_flops_per_pair = 0;
  int64_t head_flops_per_token = 0;
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

// One sequence for next_token_logprobs: the model runs on tokens[0, length); for every row j in
// [row_begin, length) the full distribution of the token after tokens[0, j] is returned.
// rope_length: the sequence length that sizes length-dependent (dynamic) rope; 0 = length. A caller
// that grows a sequence one token at a time (the codec) gives the final length at every step, so a
// row's distribution does not depend on how much of the sequence was run.
struct RowsRequest {
  const int32_t* tokens = nullptr;
  int64_t length = 0;
  int64_t row_begin = 0;
  int64_t rope_length = 0;
};

// Receives one row: request index, row j, and ln softmax(logits) over the vocabulary (f64, computed
// on the host from the head's logits with a fixed summation order; see Decoder).
using RowsSink = std::function<void(size_t request, int64_t row, std::span<const double> logprobs)>;

// Incremental decoding over a set of sequences (the codec's decoder): each step appends tokens to
// some of them and gives the distribution after each one's last token. Every layer's queries, keys
// and values are kept, so a step runs the layers on the new tokens only and attention on the whole
// sequence. Rows are bit-identical to next_token_logprobs' on the same tokens (CPU backends).
class IncrementalDecoder {
 public:
  virtual ~IncrementalDecoder() = default;
  // tokens[r] (at least one) are appended to sequence seqs[r]; sink(r, new length - 1, logprobs).
  virtual void step(std::span<const size_t> seqs, std::span<const std::vector<int32_t>> tokens,
                    const RowsSink& sink) = 0;
};

struct LoadOptions {
  // "cpu", "cuda", "auto" (cuda when this build has it and a GPU is there, else cpu) or
  // "reference" (plain loops in double: slow, for checking).
  std::string backend = "cpu";
  int device = 0;   // cuda: the GPU
  int threads = 0;  // cpu: 0 = all cores
  // "f32": float32 arithmetic throughout, equal to transformers' float32 forward (the default).
  // "bf16": matrix-product inputs rounded to bf16 (float32 accumulation), and on AMX CPUs the
  // attention's q, k, v and softmax weights too; about twice as fast on CPUs with AVX-512 BF16 or
  // AMX; log-probabilities move by ~1e-2, as in a bfloat16 transformers run.
  // On cuda "bf16" means bf16 weights and activations (float32 accumulation and softmax, float64
  // sums); "f32" float32 throughout, no TF32. Empty: the backend's default (f32 on the CPU, bf16
  // on cuda).
  std::string precision;
  // No checkpoint: the model is built from config.json alone with seeded random bf16 weights
  // made by the backend (benchmarks of shapes no one has on disk).
  bool random_weights = false;
  uint64_t seed = 0;
  // Run a checkpoint that holds tensors the model does not use (e.g. more layers than config.json
  // names); refused by default, naming them.
  bool allow_unused_weights = false;
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual const ModelInfo& info() const = 0;
  // One call at a time per model (the backend reuses its buffers). A window's result is the same
  // bit for bit whatever else is in the batch and whatever the thread count.
  virtual void score(std::span<const ScoreRequest> batch, std::span<ScoreResult> out,
                     bool want_token_logprobs) = 0;
  // The full next-token distribution at every requested row (RowsRequest). Rows come to `sink` in
  // request order, then row order; memory stays bounded (the head runs on a block of rows at a
  // time). Like score(), a row's result is the same bit for bit whatever else is in the batch,
  // whatever the thread count, and whatever follows the row in its sequence (causal attention).
  virtual void next_token_logprobs(std::span<const RowsRequest> batch, const RowsSink& sink);
  // An incremental decoder over rope_lengths.size() empty sequences (rope_lengths as in
  // RowsRequest); null when the model has none. It uses the model: one call at a time.
  virtual std::unique_ptr<IncrementalDecoder> incremental(std::span<const int64_t> rope_lengths) {
    (void)rope_lengths;
    return nullptr;
  }
  // Windows of `window_tokens` tokens per score() call that suit the backend: 4 on the CPU; on a
  // GPU as many as its free memory holds, up to 16 (products of ~30,000 rows run at full rate).
  virtual int suggested_batch(int64_t window_tokens) const = 0;
  // Bytes of device memory in use at most so far (0 on the CPU).
  virtual int64_t peak_memory() const = 0;
  // input_error naming the tensor when a weight is NaN or infinite (called when a loss is not
  // finite, to tell bad weights from a bug); does nothing when every weight is finite.
  virtual void check_weights_finite() const {}
};

// The architectures (config.json's `architectures[0]`) that load_model runs, each with the checks
// behind it (the tiny checkpoints whose log-probabilities and BPC equal transformers').
struct ArchitectureInfo {
  std::string name;
  std::string checks;
};
std::vector<ArchitectureInfo> supported_architectures();

// `ref` is a model folder, or "org/name" found offline in the Hugging Face cache
// (HF_HOME or ~/.cache/huggingface/hub: models--org--name/snapshots/REV).
std::string resolve_model_path(const std::string& ref);
// The backend LoadOptions asks for (usage errors for unknown names or a CUDA-less build).
std::unique_ptr<backend::Backend> make_backend(const LoadOptions& options);
std::unique_ptr<LanguageModel> load_model(const std::string& ref, const LoadOptions& options = {});

}  // namespace ziq::model
