// Finding a model (a folder, or org/name in the local Hugging Face cache, offline) and building
// the architecture its config.json names.
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "model/decoder.h"
#include "model/model.h"

namespace ziq::model {

namespace fs = std::filesystem;

namespace {

struct Architecture {
  const char* name;
  DecoderSpec (*spec)(const ModelConfig&);
  const char* checks;  // what shows it equals transformers (tests/data/models, test names)
};

// Llama-shaped families (Yi, DeepSeek-LLM, CodeLlama, Llemma, DeepSeek-Coder) name LlamaForCausalLM.
constexpr Architecture kArchitectures[] = {
    {"LlamaForCausalLM", llama_spec,
     "log-probs (test_model_golden): llama_rope_llama3, llama_rope_linear, llama_rope_dynamic, llama_gqa_headdim, "
     "llama_hd128; BPC (bpc_golden): llama_rope_llama3, llama_gqa_headdim"},
    {"MistralForCausalLM", mistral_spec,
     "log-probs (test_model_golden): mistral, mistral_hd64; BPC (bpc_golden): mistral"},
    {"Qwen2ForCausalLM", qwen2_spec, "log-probs (test_model_golden): qwen2; BPC (bpc_golden): qwen2"},
    {"Qwen3ForCausalLM", qwen3_spec, "log-probs (test_model_golden): qwen3_hd64; BPC (bpc_golden_families): qwen3_hd64"},
    {"Olmo2ForCausalLM", olmo2_spec, "log-probs (test_model_golden): olmo2_hd64; BPC (bpc_golden_families): olmo2_hd64"},
    {"GemmaForCausalLM", gemma_spec, "log-probs (test_model_golden): gemma_hd64; BPC (bpc_golden_families): gemma_hd64"},
    {"Gemma2ForCausalLM", gemma2_spec,
     "log-probs (test_model_golden): gemma2_hd64; BPC (bpc_golden_families): gemma2_hd64"},
};

fs::path hf_hub_dir() {
  if (const char* v = std::getenv("HF_HUB_CACHE"); v && *v) return v;
  if (const char* v = std::getenv("HF_HOME"); v && *v) return fs::path(v) / "hub";
  if (const char* v = std::getenv("XDG_CACHE_HOME"); v && *v) return fs::path(v) / "huggingface" / "hub";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "") / ".cache" / "huggingface" / "hub";
}

// FNV-1a, 64 bits: enough to tell two checkpoints apart in a results file.
uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

}  // namespace

std::vector<ArchitectureInfo> supported_architectures() {
  std::vector<ArchitectureInfo> out;
  for (const auto& a : kArchitectures) out.push_back({a.name, a.checks});
  return out;
}

void LanguageModel::next_token_logprobs(std::span<const RowsRequest>, const RowsSink&) {
  internal_error("{}: this model does not give full next-token distributions", info().name);
}

std::string resolve_model_path(const std::string& ref) {
  if (ref.empty()) usage_error("--model: empty model name");
  std::error_code ec;
  if (fs::is_directory(ref, ec)) return ref;
  const auto slash = ref.find('/');
  const bool hub_like = slash != std::string::npos && slash > 0 && ref.find('/', slash + 1) == std::string::npos &&
                        ref[0] != '.' && ref.back() != '/';
  if (!hub_like) input_error("{}: no such model folder", ref);
  const fs::path hub = hf_hub_dir();
  const fs::path repo = hub / ("models--" + ref.substr(0, slash) + "--" + ref.substr(slash + 1));
  const fs::path snapshots = repo / "snapshots";
  if (!fs::is_directory(snapshots, ec))
    input_error("{}: not a folder, and not in the Hugging Face cache ({} does not exist; ziq does not download)",
                ref, snapshots.string());
  // The revision refs/main points at, else the only (or most recently written) snapshot.
  try {
    const std::string main = read_file((repo / "refs" / "main").string());
    const std::string rev = main.substr(0, main.find_last_not_of(" \n\r\t") + 1);
    if (!rev.empty() && rev.find('/') == std::string::npos && fs::is_directory(snapshots / rev, ec))
      return (snapshots / rev).string();
  } catch (const Error&) {
    // no refs/main: fall through
  }
  fs::path best;
  fs::file_time_type best_time{};
  for (const auto& entry : fs::directory_iterator(snapshots, ec)) {
    if (!entry.is_directory(ec)) continue;
    const auto t = entry.last_write_time(ec);
    if (best.empty() || t > best_time) {
      best = entry.path();
      best_time = t;
    }
  }
  if (best.empty()) input_error("{}: {} holds no snapshot", ref, snapshots.string());
  return best.string();
}

std::unique_ptr<backend::Backend> make_backend(const LoadOptions& options) {
  const std::string& precision = options.precision;
  if (!precision.empty() && precision != "f32" && precision != "bf16")
    usage_error("--precision {}: expected f32 or bf16", precision);
  std::string kind = options.backend;
  if (kind == "auto") kind = backend::cuda_device_count() > 0 ? "cuda" : "cpu";
  if (kind == "cpu") return backend::make_cpu_backend(options.threads, precision.empty() ? "f32" : precision);
  if (kind == "cuda") {
    if (!backend::cuda_compiled())
      usage_error("--backend cuda: this build of ziq has no CUDA backend (rebuild where nvcc is installed)");
    return backend::make_cuda_backend(options.device, precision.empty() ? "bf16" : precision);
  }
  if (kind == "reference") {
    if (precision == "bf16") usage_error("--backend reference computes in float32/float64 only, not bf16");
    return backend::make_reference_backend();
  }
  usage_error("--backend {}: expected cpu, cuda, auto or reference", options.backend);
}

std::unique_ptr<LanguageModel> load_model(const std::string& ref, const LoadOptions& options) {
  // Random weights need only config.json: `ref` may then also be config.json itself.
  std::string path;
  if (options.random_weights && std::filesystem::is_regular_file(ref))
    path = std::filesystem::path(ref).parent_path().string();
  else
    path = resolve_model_path(ref);
  if (path.empty()) path = ".";
  ModelConfig config = read_config(path);
  const Architecture* arch = nullptr;
  for (const auto& a : kArchitectures)
    if (config.architecture == a.name) arch = &a;
  if (!arch) {
    std::string known;
    for (const auto& a : kArchitectures) known += std::string(known.empty() ? "" : ", ") + a.name;
    input_error("{}: architecture '{}' is not supported (ziq runs {})", config.path, config.architecture, known);
  }
  DecoderSpec spec = arch->spec(config);

  ModelInfo info;
  info.architecture = config.architecture;
  info.name = ref;
  info.path = path;
  info.vocab_size = config.vocab_size;
  info.n_layers = config.n_layers;
  info.hidden_size = config.hidden_size;
  info.max_positions = config.max_position_embeddings;
  {
    const int64_t H = config.hidden_size, I = config.intermediate_size, D = config.head_dim;
    info.linear_params = config.n_layers * (H * D * (2 * config.n_heads + 2 * config.n_kv_heads) + 3 * H * I);
    info.attention_flops_per_pair = 4 * config.n_layers * config.n_heads * D;
    info.head_flops_per_token = 2 * config.vocab_size * H;
  }
  uint64_t h = fnv1a(0xcbf29ce484222325ull, config.raw.dump());
  std::optional<Checkpoint> checkpoint;
  if (options.random_weights) {
    h = fnv1a(h, fmt::format("random weights, seed {}", options.seed));
    info.dtype = "bf16";
    const int64_t H = config.hidden_size;
    info.n_params = info.linear_params + config.n_layers * 2 * H + H +
                    config.vocab_size * H * (config.tie_word_embeddings ? 1 : 2);
  } else {
    checkpoint = Checkpoint::open_folder(path);
    for (const auto& header : checkpoint->headers()) h = fnv1a(h, header);
    info.weight_files = checkpoint->files();
    for (const auto& [name, t] : checkpoint->tensors()) info.n_params += t.numel();
    info.dtype = dtype_name(checkpoint->get("model.embed_tokens.weight").dtype);
  }
  info.fingerprint = fmt::format("{:016x}", h);
  return make_decoder(std::move(config), std::move(spec), std::move(checkpoint), make_backend(options),
                      std::move(info), options.seed, options.allow_unused_weights);
}

}  // namespace ziq::model
