// ziq's per-token log-probabilities against transformers' on tiny random checkpoints of every
// supported architecture (tests/data/models, made by tools/make_tiny_models.py: transformers 5,
// float32, eager attention). Tolerance: 1e-4 absolute per token.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "backend/backend.h"
#include "model/model.h"

namespace {

using namespace ziq::model;

struct Golden {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<double>> logprobs;
};

Golden read_golden(const std::string& dir) {
  std::ifstream in(dir + "/golden.json");
  EXPECT_TRUE(in) << dir;
  const auto j = nlohmann::json::parse(in);
  Golden g;
  for (const auto& s : j["sequences"]) {
    g.tokens.push_back(s["tokens"].get<std::vector<int32_t>>());
    g.logprobs.push_back(s["logprobs"].get<std::vector<double>>());
  }
  return g;
}

class ModelGolden : public testing::TestWithParam<std::string> {};

// On every backend of this build: the CPU one (float32), the reference (plain loops, double sums;
// slow, so only on the sequences of up to 300 tokens) and, where a GPU is present, cuda in
// --precision f32.
TEST_P(ModelGolden, LogprobsEqualTransformers) {
  const std::string dir = std::string(ZIQ_TEST_DATA) + "/models/" + GetParam();
  const Golden g = read_golden(dir);
  ASSERT_FALSE(g.tokens.empty());
  std::vector<std::string> backends = {"cpu", "reference"};
  if (ziq::backend::cuda_device_count() > 0) backends.push_back("cuda");
  for (const std::string& backend : backends) {
    LoadOptions opt;
    opt.backend = backend;
    opt.precision = "f32";
    auto model = load_model(dir, opt);
    EXPECT_EQ(model->info().path, dir);
    EXPECT_EQ(model->info().precision, "f32");
    double worst = 0;
    for (size_t s = 0; s < g.tokens.size(); ++s) {
      if (backend == "reference" && g.tokens[s].size() > 300) continue;
      ScoreRequest req{g.tokens[s].data(), int64_t(g.tokens[s].size()), 1};
      ScoreResult res;
      model->score({&req, 1}, {&res, 1}, true);
      ASSERT_EQ(res.token_logprobs.size(), g.logprobs[s].size());
      double sum = 0;
      for (size_t i = 0; i < res.token_logprobs.size(); ++i) {
        const double err = std::abs(res.token_logprobs[i] - g.logprobs[s][i]);
        worst = std::max(worst, err);
        ASSERT_LE(err, 1e-4) << GetParam() << " on " << backend << ": sequence " << s << " (length "
                             << g.tokens[s].size() << ") target " << i + 1;
        sum -= g.logprobs[s][i];
      }
      EXPECT_NEAR(res.nll_nats, sum, 1e-4 * res.token_logprobs.size());
    }
    std::printf("%s on %s: max |ziq - transformers| = %.3g\n", GetParam().c_str(), model->info().backend.c_str(),
                worst);
  }
}

// A batch of windows of different lengths, each scoring from its own score_begin, gives exactly
// what each window gives alone.
TEST_P(ModelGolden, BatchEqualsSingleWindows) {
  const std::string dir = std::string(ZIQ_TEST_DATA) + "/models/" + GetParam();
  const Golden g = read_golden(dir);
  auto model = load_model(dir);
  std::vector<ScoreRequest> reqs;
  for (size_t s = 0; s < g.tokens.size(); ++s) {
    const int64_t n = int64_t(g.tokens[s].size());
    reqs.push_back({g.tokens[s].data(), n, std::max<int64_t>(1, n - 5)});
  }
  std::vector<ScoreResult> batch(reqs.size());
  model->score(reqs, batch, true);
  for (size_t s = 0; s < reqs.size(); ++s) {
    ASSERT_EQ(batch[s].token_logprobs.size(), size_t(reqs[s].length - reqs[s].score_begin));
    for (size_t i = 0; i < batch[s].token_logprobs.size(); ++i)
      EXPECT_NEAR(batch[s].token_logprobs[i], g.logprobs[s][reqs[s].score_begin - 1 + i], 1e-4);
  }
}

// A window's result does not depend on what else is in the batch or on the thread count, bit for
// bit: each output is computed by one thread in a fixed order (resumed runs rely on this).
TEST_P(ModelGolden, BitIdenticalAcrossBatchesAndThreads) {
  const std::string dir = std::string(ZIQ_TEST_DATA) + "/models/" + GetParam();
  const Golden g = read_golden(dir);
  std::vector<ScoreRequest> reqs;
  for (size_t s = 0; s < g.tokens.size(); ++s)
    reqs.push_back({g.tokens[s].data(), int64_t(g.tokens[s].size()), std::max<int64_t>(1, int64_t(s) * 7)});
  for (const char* precision : {"f32", "bf16"}) {
    std::vector<std::vector<float>> first;
    for (int threads : {1, 3}) {
      LoadOptions opt;
      opt.threads = threads;
      opt.precision = precision;
      auto model = load_model(dir, opt);
      std::vector<ScoreResult> batch(reqs.size());
      model->score(reqs, batch, true);
      for (size_t s = 0; s < reqs.size(); ++s) {
        ScoreResult single;
        model->score({&reqs[s], 1}, {&single, 1}, true);
        EXPECT_EQ(single.token_logprobs, batch[s].token_logprobs) << precision << " window " << s;
        EXPECT_EQ(single.nll_nats, batch[s].nll_nats) << precision << " window " << s;
        if (threads == 1) first.push_back(single.token_logprobs);
        else EXPECT_EQ(first[s], single.token_logprobs) << precision << " threads 1 vs 3, window " << s;
      }
    }
  }
}

// precision "bf16" rounds matrix-product inputs to bf16 (where the CPU has AVX-512 BF16): close
// to float32, not equal. The bounds are loose on purpose; the exact path is the default.
TEST_P(ModelGolden, Bf16PrecisionIsClose) {
  const std::string dir = std::string(ZIQ_TEST_DATA) + "/models/" + GetParam();
  const Golden g = read_golden(dir);
  LoadOptions opt;
  opt.precision = "bf16";
  auto model = load_model(dir, opt);
  double worst = 0, sum_err = 0, total = 0, sum_ref = 0;
  size_t n = 0;
  for (size_t s = 0; s < g.tokens.size(); ++s) {
    ScoreRequest req{g.tokens[s].data(), int64_t(g.tokens[s].size()), 1};
    ScoreResult res;
    model->score({&req, 1}, {&res, 1}, true);
    ASSERT_EQ(res.token_logprobs.size(), g.logprobs[s].size());
    for (size_t i = 0; i < res.token_logprobs.size(); ++i) {
      const double err = std::abs(res.token_logprobs[i] - g.logprobs[s][i]);
      worst = std::max(worst, err);
      sum_err += err;
      ++n;
      sum_ref -= g.logprobs[s][i];
    }
    total += res.nll_nats;
  }
  std::printf("%s bf16: max |err| %.3g, mean |err| %.3g, total nll rel diff %.3g\n", GetParam().c_str(), worst,
              sum_err / n, std::abs(total - sum_ref) / sum_ref);
  EXPECT_LT(worst, 0.25);
  EXPECT_LT(sum_err / n, 0.02);
  EXPECT_LT(std::abs(total - sum_ref) / sum_ref, 1e-3);
  opt.precision = "f8";
  EXPECT_THROW(load_model(dir, opt), ziq::Error);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, ModelGolden,
                         testing::Values("llama_rope_llama3", "llama_rope_linear", "llama_rope_dynamic",
                                         "llama_gqa_headdim", "mistral", "qwen2", "llama_hd128", "mistral_hd64",
                                         "qwen3_hd64", "olmo2_hd64", "gemma_hd64", "gemma2_hd64"));

}  // namespace

namespace {

// A model from config.json alone with seeded random weights (benchmarks of shapes without a
// checkpoint): the same weights, so the same log-probabilities, on every backend; another seed
// gives other weights.
TEST(RandomWeights, SameModelOnEveryBackend) {
  using namespace ziq::model;
  const std::string config = std::string(ZIQ_TEST_DATA) + "/models/llama_gqa_headdim/config.json";
  std::vector<int32_t> tokens(120);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * 7919) % 32000);
  const ScoreRequest req{tokens.data(), int64_t(tokens.size()), 1};
  auto score = [&](const std::string& backend, uint64_t seed) {
    LoadOptions opt;
    opt.backend = backend;
    opt.precision = "f32";
    opt.random_weights = true;
    opt.seed = seed;
    auto model = load_model(config, opt);
    EXPECT_EQ(model->info().dtype, "bf16");
    ScoreResult res;
    model->score({&req, 1}, {&res, 1}, true);
    return res;
  };
  const ScoreResult ref = score("reference", 5);
  std::vector<std::string> backends = {"cpu"};
  if (ziq::backend::cuda_device_count() > 0) backends.push_back("cuda");
  for (const std::string& b : backends) {
    const ScoreResult got = score(b, 5);
    ASSERT_EQ(got.token_logprobs.size(), ref.token_logprobs.size());
    for (size_t i = 0; i < got.token_logprobs.size(); ++i)
      EXPECT_NEAR(got.token_logprobs[i], ref.token_logprobs[i], 1e-4) << b << " target " << i;
  }
  // Near-uniform predictions (weights of std 0.02), yet another seed moves them.
  EXPECT_NEAR(ref.nll_nats / double(ref.token_logprobs.size()), std::log(32000.0), 0.1);
  EXPECT_GT(std::abs(score("reference", 6).nll_nats - ref.nll_nats), 1e-6);
}

}  // namespace

namespace {

// `ziq eval --list-architectures`: every tiny checkpoint's architecture is listed, and each listed
// architecture names checkpoints that exist.
TEST(Architectures, ListedWithTheirCheckpoints) {
  namespace fs = std::filesystem;
  const auto archs = ziq::model::supported_architectures();
  ASSERT_GE(archs.size(), 7u);
  std::set<std::string> names;
  for (const auto& a : archs) names.insert(a.name);
  std::set<std::string> used;
  for (const auto& e : fs::directory_iterator(fs::path(ZIQ_TEST_DATA) / "models")) {
    std::ifstream in(e.path() / "config.json");
    const std::string arch = nlohmann::json::parse(in)["architectures"][0];
    EXPECT_TRUE(names.count(arch)) << e.path() << ": " << arch;
    used.insert(arch);
  }
  for (const auto& a : archs) {
    EXPECT_TRUE(used.count(a.name)) << a.name << " has no tiny checkpoint";
    EXPECT_NE(a.checks.find("test_model_golden"), std::string::npos) << a.name;
  }
}

}  // namespace
