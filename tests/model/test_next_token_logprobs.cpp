// Full next-token distributions (LanguageModel::next_token_logprobs): every row sums to 1, agrees
// with score()'s per-target log-probabilities, and is bit-identical whether the sequence is run
// whole or cut after the row (what the codec's decoder does), alone or batched with others, on one
// thread or two.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
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

// "default": the built-in model; else a tiny test checkpoint. CPU, f32.
std::unique_ptr<LanguageModel> load(const std::string& name, int threads) {
  const std::string dir = name == "default" ? std::string(ZIQ_TEST_DATA) + "/../../data/default-model"
                                            : std::string(ZIQ_TEST_DATA) + "/models/" + name;
  LoadOptions opt;
  opt.backend = "cpu";
  opt.precision = "f32";
  opt.threads = threads;
  return load_model(dir, opt);
}

class NextTokenLogprobs : public testing::TestWithParam<std::string> {};

TEST_P(NextTokenLogprobs, FullRowsAreExactAndBatchIndependent) {
  auto model = load(GetParam(), 2);
  auto model1 = load(GetParam(), 1);
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

// Incremental decoding: two sequences grown by steps of 1 to 3 tokens, interleaved; every step's
// row equals the whole sequence's row bit for bit.
TEST_P(NextTokenLogprobs, IncrementalRowsEqualFullRows) {
  auto model = load(GetParam(), 2);
  const int64_t V = model->info().vocab_size;
  std::mt19937 rng(9);
  std::vector<std::vector<int32_t>> seq(2, std::vector<int32_t>(60));
  for (auto& s : seq)
    for (auto& t : s) t = int32_t(rng() % V);
  const int64_t L = 60;
  std::vector<Rows> whole;
  for (auto& s : seq) whole.push_back(run(*model, {{s.data(), L, 0, L}}));
  const std::vector<int64_t> rope = {L, L};
  auto inc = model->incremental(rope);
  ASSERT_TRUE(inc);
  int64_t done[2] = {0, 0};
  int checked = 0;
  while (done[0] < L || done[1] < L) {
    std::vector<size_t> ids;
    std::vector<std::vector<int32_t>> toks;
    for (size_t s = 0; s < 2; ++s) {
      if (done[s] >= L || (s == 1 && rng() % 3 == 0)) continue;
      const int64_t n = std::min<int64_t>(L - done[s], 1 + rng() % 3);
      ids.push_back(s);
      toks.emplace_back(seq[s].begin() + done[s], seq[s].begin() + done[s] + n);
      done[s] += n;
    }
    if (ids.empty()) continue;
    inc->step(ids, toks, [&](size_t r, int64_t row, std::span<const double> lp) {
      const size_t s = ids[r];
      EXPECT_EQ(row, done[s] - 1);
      EXPECT_TRUE(std::vector<double>(lp.begin(), lp.end()) == whole[s].at({0, row})) << "sequence " << s << " row " << row;
      ++checked;
    });
  }
  EXPECT_GT(checked, 30);
}

INSTANTIATE_TEST_SUITE_P(Models, NextTokenLogprobs, testing::Values("default", "qwen2", "mistral"));

}  // namespace
