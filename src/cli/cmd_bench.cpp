// `ziq bench`: the engine's speed on a model, or on a model shape alone. With --random-weights the
// model is built from config.json with seeded random bf16 weights made by the backend (on the GPU
// itself for cuda), so a 7B or 70B shape can be measured without a checkpoint on disk. The windows
// are the paper's over a stream of token ids (--tokens: little-endian int32, else seeded random
// ids): window w covers [w * stride, w * stride + C + 1), the first scores every target, the
// others their last `stride`. Timed after one warm-up batch. Prints tokens through the model per second,
// scored tokens per second, model FLOP/s (products, attention, head on scored rows), load time and
// peak device memory.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <cstring>
#include <random>

#include "cli/command.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "model/model.h"

namespace ziq::cli {
namespace {

struct BenchArgs {
  std::string model, tokens;
  model::LoadOptions load;
  int64_t context = 1900, stride = 512;
  int batch = 0, windows = 0, repeat = 1;
};

void run(BenchArgs args, const GlobalOptions& global) {
  if (args.context < 1 || args.stride < 1)
    usage_error("--context and --stride must be at least 1 (got {} and {})", args.context, args.stride);
  args.stride = std::min(args.stride, args.context);
  if (args.batch < 0 || args.windows < 0 || args.repeat < 1) usage_error("--batch, --windows and --repeat must be positive");
  auto lm = model::load_model(args.model, args.load);
  const model::ModelInfo& info = lm->info();
  const int64_t len = args.context + 1;
  const int batch = args.batch > 0 ? args.batch : lm->suggested_batch(len);
  std::vector<int32_t> tokens;
  if (!args.tokens.empty()) {
    const std::string bytes = read_file(args.tokens);
    tokens.resize(bytes.size() / 4);
    std::memcpy(tokens.data(), bytes.data(), tokens.size() * 4);
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] < 0 || tokens[i] >= info.vocab_size)
        input_error("{}: token {} is id {}, outside the model's vocabulary of {}", args.tokens, i, tokens[i],
                    info.vocab_size);
  }
  const int64_t available = tokens.empty() ? INT64_MAX : (int64_t(tokens.size()) - len) / args.stride + 1;
  if (available < 1) input_error("{}: {} tokens, fewer than one window of {}", args.tokens, tokens.size(), len);
  const int windows = int(std::min<int64_t>(args.windows > 0 ? args.windows : 4 * batch, available));
  if (tokens.empty()) {  // seeded random ids
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> id(0, int32_t(info.vocab_size - 1));
    tokens.resize(size_t(windows - 1) * args.stride + len);
    for (int32_t& t : tokens) t = id(rng);
  }
  std::vector<model::ScoreRequest> reqs;
  for (int w = 0; w < windows; ++w)
    reqs.push_back({tokens.data() + size_t(w) * args.stride, len, w == 0 ? 1 : len - args.stride});

  auto run_all = [&](int64_t first, int64_t count) {
    double nats = 0;
    for (int64_t w0 = first; w0 < first + count; w0 += batch) {
      const int64_t n = std::min<int64_t>(batch, first + count - w0);
      std::vector<model::ScoreResult> res(n);
      lm->score(std::span(reqs).subspan(w0, n), res, false);
      for (auto& r : res) nats += r.nll_nats;
    }
    return nats;
  };
  run_all(0, std::min(batch, windows));  // warm-up: allocation, algorithm choice
  double best = 1e300, nats = 0;
  for (int r = 0; r < args.repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    nats = run_all(0, windows);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  int64_t scored = 0;
  double pairs = 0;
  for (auto& q : reqs) scored += q.length - q.score_begin;
  const int64_t through = int64_t(windows) * args.context;
  pairs = double(windows) * double(args.context) * double(args.context + 1) / 2;
  const double flops = 2.0 * double(info.linear_params) * double(through) +
                       double(info.attention_flops_per_pair) * pairs + double(info.head_flops_per_token) * double(scored);

  nlohmann::json j = {{"model", info.name},
                      {"architecture", info.architecture},
                      {"parameters", info.n_params},
                      {"random_weights", args.load.random_weights},
                      {"backend", info.backend},
                      {"precision", info.precision},
                      {"context", args.context},
                      {"stride", args.stride},
                      {"batch", batch},
                      {"windows", windows},
                      {"seconds", best},
                      {"tokens_per_second", double(through) / best},
                      {"scored_tokens_per_second", double(scored) / best},
                      {"model_tflops", flops / best / 1e12},
                      {"load_seconds", info.load_seconds},
                      {"peak_device_memory_bytes", lm->peak_memory()},
                      {"nats", nats}};
  if (global.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("model     %s (%s, %.2fB parameters%s)\n", info.name.c_str(), info.architecture.c_str(),
              double(info.n_params) / 1e9, args.load.random_weights ? ", random weights" : "");
  std::printf("backend   %s, %s arithmetic, batch %d windows of %lld tokens, %d windows\n", info.backend.c_str(),
              info.precision.c_str(), batch, static_cast<long long>(len), windows);
  std::printf("speed     %.0f tokens/s through the model, %.0f scored tokens/s, %.1f model TFLOP/s\n",
              double(through) / best, double(scored) / best, flops / best / 1e12);
  std::printf("load      %.1f s", info.load_seconds);
  if (lm->peak_memory() > 0) std::printf(", peak GPU memory %.1f GiB", lm->peak_memory() / 1073741824.0);
  std::printf("\n");
}

void setup(CLI::App& sub, const GlobalOptions& global) {
  auto args = std::make_shared<BenchArgs>();
  args->load.backend = "auto";
  sub.add_option("--model,-m", args->model, "Model folder, or (with --random-weights) a folder or config.json")
      ->required();
  sub.add_option("--tokens", args->tokens, "Token ids (little-endian int32) whose paper windows are scored");
  sub.add_flag("--random-weights", args->load.random_weights,
               "Seeded random bf16 weights from config.json alone (made on the device)");
  sub.add_option("--seed", args->load.seed, "Seed of the random weights")->capture_default_str();
  sub.add_option("--backend", args->load.backend, "cpu, cuda, or auto")->capture_default_str();
  sub.add_option("--device", args->load.device, "cuda: which GPU")->capture_default_str();
  sub.add_option("--precision", args->load.precision, "f32 or bf16 (default: f32 on the CPU, bf16 on cuda)");
  sub.add_option("--threads", args->load.threads, "CPU threads (0 = all cores)")->capture_default_str();
  sub.add_option("--context", args->context, "Context C; windows of C + 1 tokens")->capture_default_str();
  sub.add_option("--stride", args->stride, "Scored targets per window after the first")->capture_default_str();
  sub.add_option("--batch", args->batch, "Windows per model call (0: the backend's choice)")->capture_default_str();
  sub.add_option("--windows", args->windows, "Windows timed (0: 4 batches)")->capture_default_str();
  sub.add_option("--repeat", args->repeat, "Timed runs; the best is reported")->capture_default_str();
  sub.callback([args, &global] { run(*args, global); });
}

}  // namespace
ZIQ_COMMAND("bench", "Scoring speed of a model or a model shape (random weights), on the CPU or a GPU", setup);
}  // namespace ziq::cli
