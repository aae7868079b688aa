// Full next-token distributions (LanguageModel::next_token_logprobs): every row sums to 1, agrees
// with score()'s per-target log-probabilities, and is bit-identical whether the sequence is run
// whole or cut after the row (what the codec's decoder does), alone or batched with others, on one
// thread or two.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "model/model.h"

namespace {

using namespace ziq::model;

using Rows = std::map<std::pair<size_t, int64_t>, std::vector<double>>;

Rows run(LanguageModel& m, const std::vector<RowsRequest>& reqs) {
  Rows rows;
  m.next_token_logprobs(reqs, [&](size_t r, int64_t j, std::span<const double> lp) {
    rows[{r, j}] = std::vector<double>(lp.begin(), lp.end());
  });
  return rows;
}

class NextTokenLogprobs : public testing::TestWithParam<std::string> {};

TEST_P(NextTokenLogprobs, FullRowsAreExactAndBatchIndependent) {
  const std::string dir = GetParam() == "default" ? std::string(ZIQ_TEST_DATA) + "/../../data/default-model"
                                                  : std::string(ZIQ_TEST_DATA) + "/models/" + GetParam();
  LoadOptions opt;
  opt.backend = "cpu";
  opt.precision = "f32";
  opt.threads = 2;
  auto model = load_model(dir, opt);
  opt.threads = 1;
  auto model1 = load_model(dir, opt);
  const int64_t V = model->info().vocab_size;
  std::mt19937 rng(5);
  std::vector<int32_t> a(70), b(33);
  for (auto& t : a) t = int32_t(rng() % V);
  for (auto& t : b) t = int32_t(rng() % V);
  const int64_t L = int64_t(a.size());

  const Rows whole = run(*model, {{a.data(), L, 0, L}});
  ASSERT_EQ(whole.size(), a.size());
  // Rows sum to 1 and agree with score() (another head path: fused log-softmax).
  ScoreRequest sr{a.data(), L, 1};
  ScoreResult res;
  model->score({&sr, 1}, {&res, 1}, true);
  for (int64_t j = 0; j + 1 < L; ++j) {
    const auto& lp = whole.at({0, j});
    ASSERT_EQ(int64_t(lp.size()), V);
    double s = 0;
    for (double x : lp) s += std::exp(x);
    EXPECT_NEAR(s, 1.0, 1e-9);
    EXPECT_NEAR(lp[size_t(a[size_t(j + 1)])], res.token_logprobs[size_t(j)], 2e-4) << "row " << j;
  }
  // Prefixes: row t - 1 of the sequence cut at t, alone or beside another sequence, on 1 thread.
  for (int64_t t : {int64_t(1), int64_t(2), int64_t(17), int64_t(40), L}) {
    const Rows cut = run(*model, {{a.data(), t, t - 1, L}});
    EXPECT_EQ(cut.at({0, t - 1}), whole.at({0, t - 1})) << "prefix " << t;
    const Rows batched = run(*model1, {{b.data(), int64_t(b.size()), 3, L}, {a.data(), t, t - 1, L}});
    EXPECT_EQ(batched.at({1, t - 1}), whole.at({0, t - 1})) << "prefix " << t << " batched, 1 thread";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, NextTokenLogprobs, testing::Values("default", "qwen2", "mistral"));

}  // namespace
