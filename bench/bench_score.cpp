// ziq_bench_score: the engine side of bench/bench_eval_cpu.py, and a matrix-product benchmark.
//
//   ziq_bench_score score --model DIR --tokens FILE --context C [--batch B] [--threads T] [--repeat R]
//     FILE: little-endian int32 token ids; windows of C + 1 tokens cut one after another; every
//     target of each window is scored. Prints one JSON line: tokens through the model per second
//     (best of R runs), the summed nll, and the per-window nll.
//   ziq_bench_score gemm --m M --n N --k K [--threads T]
//     GFLOP/s of y = x * w^T with bf16 w for each kernel this CPU has (see src/backend/cpu/gemm.h).
//   ziq_bench_score attention [--len L] [--seqs S] [--heads H] [--kv-heads KV] [--head-dim D]
//                             [--window W] [--threads T]
//     GFLOP/s of each attention kernel this CPU has (see src/backend/cpu/attention.h).
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "backend/cpu/attention.h"
#include "backend/cpu/gemm.h"
#include "core/error.h"
#include "core/threads.h"
#include "model/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct ScoreArgs {
  std::string model, tokens;
  int64_t context = 512, batch = 4, windows = 0;
  int threads = 0, repeat = 2;
  ziq::model::LoadOptions load;
};

int run_score(const ScoreArgs& a) {
  const int64_t context = a.context, batch = a.batch, len = context + 1;
  const int repeat = a.repeat;
  const auto load_t0 = Clock::now();
  auto model = ziq::model::load_model(a.model, a.load);
  const double load_seconds = seconds_since(load_t0);
  std::vector<int32_t> tokens;
  if (!a.tokens.empty()) {
    std::ifstream in(a.tokens, std::ios::binary);
    if (!in) ziq::input_error("{}: cannot open", a.tokens);
    in.seekg(0, std::ios::end);
    const auto bytes = in.tellg();
    in.seekg(0);
    tokens.resize(size_t(bytes) / 4);
    in.read(reinterpret_cast<char*>(tokens.data()), int64_t(tokens.size()) * 4);
  } else {  // seeded random ids over the model's vocabulary
    if (a.windows <= 0) ziq::usage_error("give --tokens FILE or --windows N");
    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> id(0, int32_t(model->info().vocab_size - 1));
    tokens.resize(size_t(a.windows * len));
    for (int32_t& t : tokens) t = id(rng);
  }
  const int64_t windows = int64_t(tokens.size()) / len;
  if (windows == 0) ziq::input_error("{}: fewer than {} tokens", a.tokens, len);
  std::vector<double> nll(windows);
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    for (int64_t w0 = 0; w0 < windows; w0 += batch) {
      std::vector<ziq::model::ScoreRequest> reqs;
      for (int64_t w = w0; w < std::min(windows, w0 + batch); ++w) reqs.push_back({tokens.data() + w * len, len, 1});
      std::vector<ziq::model::ScoreResult> res(reqs.size());
      model->score(reqs, res, false);
      for (size_t i = 0; i < res.size(); ++i) nll[w0 + i] = res[i].nll_nats;
    }
    best = std::min(best, seconds_since(t0));
  }
  double total = 0;
  for (double x : nll) total += x;
  nlohmann::json out = {{"windows", windows},
                        {"context", context},
                        {"seconds", best},
                        {"tokens_per_s", double(windows * context) / best},
                        {"nll", total},
                        {"window_nll", nll},
                        {"load_seconds", load_seconds},
                        {"backend", model->info().backend},
                        {"precision", model->info().precision},
                        {"n_params", model->info().n_params},
                        {"backend_threads", ziq::resolve_threads(a.threads)},
                        {"gemm", ziq::backend::cpu::gemm_kernel_name(a.load.precision == "bf16"
                                                                         ? ziq::backend::cpu::fast_gemm_kernel()
                                                                         : ziq::backend::cpu::default_gemm_kernel())}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

int run_gemm(int64_t m, int64_t n, int64_t k, int64_t nb, int threads) {
  using namespace ziq::backend::cpu;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  std::vector<float> x(m * k), y(m * n), ref(m * n);
  std::vector<uint16_t> w(n * k);
  for (float& v : x) v = dist(rng);
  for (uint16_t& v : w) {
    float f = dist(rng) * 0.05f;
    uint32_t u;
    std::memcpy(&u, &f, 4);
    v = uint16_t(u >> 16);
  }
  const std::vector<GemmKernel> kernels = available_gemm_kernels();
  const int t = ziq::resolve_threads(threads);
  for (GemmKernel kern : kernels) {
    ziq::AlignedBuffer<uint16_t> parts;
    // Kernels that prepack (AMX): the matrix packed once, outside the timing, as the backend keeps it.
    ziq::AlignedBuffer<uint16_t> packed(size_t(packed_weight_values(kern, n, k)));
    if (gemm_prepacks(kern)) pack_weight_panels(kern, w.data(), n, k, 0, (n + 31) / 32, packed.data());
    std::vector<std::vector<float>> scratch(t);
    const int64_t kb = (nb + gemm_block_multiple(kern) - 1) / gemm_block_multiple(kern) * gemm_block_multiple(kern);
    double best = 1e30;
    for (int r = 0; r < 3; ++r) {
      const auto t0 = Clock::now();
      const GemmInput in = prepare_gemm_input(kern, x.data(), m, k, parts, t);
      std::atomic<int64_t> next{0};
      ziq::parallel_for(t, t, [&](size_t b, size_t e) {
        for (size_t worker = b; worker < e; ++worker)
          for (int64_t blk; (blk = next.fetch_add(1)) * kb < n;)
            if (gemm_prepacks(kern))
              gemm_block_packed(kern, in, packed.data(), blk * kb, std::min(kb, n - blk * kb), y.data() + blk * kb, n);
            else
              gemm_block(kern, in, w.data() + blk * kb * k, true, std::min(kb, n - blk * kb), y.data() + blk * kb,
                         n, scratch[worker]);
      });
      best = std::min(best, seconds_since(t0));
    }
    double max_err = 0;
    if (kern == GemmKernel::openblas) ref = y;
    for (size_t i = 0; i < y.size(); ++i) max_err = std::max<double>(max_err, std::abs(y[i] - ref[i]));
    std::printf("%-16s m=%ld n=%ld k=%ld block=%ld threads=%d: %.1f GFLOP/s (%.4f s), max |diff vs openblas| %.2g\n",
                gemm_kernel_name(kern).c_str(), long(m), long(n), long(k), long(nb), t, 2.0 * m * n * k / best / 1e9, best,
                max_err);
  }
  return 0;
}

// GFLOP/s of each attention kernel (src/backend/cpu/attention.h) on `seqs` random sequences of
// `len` tokens, counting 4 * head_dim flops per (query, key) pair that causality (and the window)
// leaves, per head.
int run_attention(int64_t len, int64_t seqs, int64_t heads, int64_t kv_heads, int64_t head_dim, int64_t window,
                  int threads) {
  using namespace ziq::backend::cpu;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  const int64_t rows = len * seqs;
  std::vector<float> q(rows * heads * head_dim), k(rows * kv_heads * head_dim), v(k.size()), out(q.size()), ref;
  for (auto* x : {&q, &k, &v})
    for (float& f : *x) f = dist(rng);
  std::vector<ziq::backend::SeqSpan> spans;
  for (int64_t s = 0; s < seqs; ++s) spans.push_back({s * len, len});
  double pairs = 0;
  for (int64_t i = 0; i < len; ++i) pairs += window > 0 ? std::min(i + 1, window) : i + 1;
  const double flops = 4.0 * double(head_dim) * double(heads) * pairs * double(seqs);
  const int t = ziq::resolve_threads(threads);
  std::vector<AttentionKernel> kernels = {AttentionKernel::portable};
  if (cpu_has_avx512()) kernels.push_back(AttentionKernel::avx512);
  if (amx_attention_supports(head_dim)) kernels.push_back(AttentionKernel::amx_bf16);  // bf16 inputs
  for (AttentionKernel kern : kernels) {
    std::vector<std::vector<float>> scratch(t);
    double best = 1e30;
    for (int r = 0; r < 3; ++r) {
      const auto t0 = Clock::now();
      Attention att({q.data(), k.data(), v.data(), out.data(), heads, kv_heads, head_dim,
                     1.0f / std::sqrt(float(head_dim)), window},
                    spans, kern);
      for (int phase = 0; phase < 2; ++phase) {
        std::atomic<int64_t> next{0};
        const int64_t items = phase == 0 ? att.pack_items() : att.tasks();
        ziq::parallel_for(t, t, [&](size_t b, size_t e) {
          for (size_t worker = b; worker < e; ++worker)
            for (int64_t item; (item = next.fetch_add(1)) < items;)
              phase == 0 ? att.pack(item) : att.run(item, scratch[worker]);
        });
      }
      best = std::min(best, seconds_since(t0));
    }
    double max_diff = 0;
    if (ref.empty()) ref = out;
    for (size_t i = 0; i < out.size(); ++i) max_diff = std::max<double>(max_diff, std::abs(out[i] - ref[i]));
    std::printf("%-8s len=%ld seqs=%ld heads=%ld/%ld head_dim=%ld window=%ld threads=%d: %.1f GFLOP/s (%.4f s), "
                "max |diff vs portable| %.2g\n",
                kern == AttentionKernel::avx512 ? "avx512" : kern == AttentionKernel::amx_bf16 ? "amx-bf16" : "portable", long(len), long(seqs), long(heads),
                long(kv_heads), long(head_dim), long(window), t, flops / best / 1e9, best, max_diff);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ziq engine benchmarks"};
  app.require_subcommand(1);
  ScoreArgs sa;
  int64_t m = 2048, n = 4864, k = 896, nb = 128;
  int threads = 0;
  auto* score = app.add_subcommand("score", "tokens/s of forward + scoring");
  score->add_option("--model", sa.model, "model folder (or config.json with --random-weights)")->required();
  score->add_option("--tokens", sa.tokens, "int32 token ids; else --windows random ones");
  score->add_option("--windows", sa.windows, "random windows when no --tokens");
  score->add_option("--context", sa.context);
  score->add_option("--batch", sa.batch);
  score->add_option("--threads", sa.threads);
  score->add_option("--repeat", sa.repeat);
  score->add_option("--precision", sa.load.precision, "f32 or bf16 (default: the backend's)");
  score->add_option("--backend", sa.load.backend, "cpu, cuda, auto or reference");
  score->add_option("--device", sa.load.device, "cuda: the GPU");
  score->add_flag("--random-weights", sa.load.random_weights, "seeded random bf16 weights from config.json alone");
  score->add_option("--seed", sa.load.seed, "seed of the random weights");
  auto* gemm = app.add_subcommand("gemm", "GFLOP/s of each matrix-product kernel");
  gemm->add_option("--m", m);
  gemm->add_option("--n", n);
  gemm->add_option("--k", k);
  gemm->add_option("--block", nb, "weight rows per task");
  gemm->add_option("--threads", threads);
  int64_t len = 1900, seqs = 4, heads = 14, kv_heads = 2, head_dim = 64, window = 0;
  auto* attn = app.add_subcommand("attention", "GFLOP/s of each attention kernel");
  attn->add_option("--len", len, "tokens per sequence");
  attn->add_option("--seqs", seqs);
  attn->add_option("--heads", heads);
  attn->add_option("--kv-heads", kv_heads);
  attn->add_option("--head-dim", head_dim);
  attn->add_option("--window", window, "sliding window (0: none)");
  attn->add_option("--threads", threads);
  CLI11_PARSE(app, argc, argv);
  try {
    if (score->parsed()) {
      sa.load.threads = sa.threads;
      return run_score(sa);
    }
    if (attn->parsed()) return run_attention(len, seqs, heads, kv_heads, head_dim, window, threads);
    return run_gemm(m, n, k, nb, threads);
  } catch (const ziq::Error& e) {
    std::fprintf(stderr, "ziq_bench_score: %s\n", e.what());
    return e.exit_code();
  }
}
