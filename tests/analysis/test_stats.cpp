// Statistics against values printed by scipy 1.17.1 / numpy 2.4 for the same small sample (with
// ties in x and in y, and a pair tied in both), and against exact identities.
#include "analysis/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <random>

using namespace ziq::analysis;

namespace {
const std::vector<double> kX = {1, 2, 2, 3, 4, 5, 5, 6};
const std::vector<double> kY = {2, 1, 4, 3, 7, 5, 5, 9};
}  // namespace

TEST(Stats, MatchesScipyOnATiedSample) {
  EXPECT_NEAR(pearson(kX, kY), 0.8308675641104959, 1e-14);       // scipy.stats.pearsonr
  EXPECT_NEAR(spearman(kX, kY), 0.8485004317396408, 1e-14);      // scipy.stats.spearmanr
  EXPECT_NEAR(kendall_tau_b(kX, kY), 0.6793662204867575, 1e-14); // scipy.stats.kendalltau (tau-b)
  Line l = least_squares(kX, kY);                                 // scipy.stats.linregress
  EXPECT_NEAR(l.slope, 1.2272727272727273, 1e-14);
  EXPECT_NEAR(l.intercept, 0.20454545454545414, 1e-13);
}

TEST(Stats, AverageRanks) {
  auto r = average_ranks(kX);
  std::vector<double> want = {1, 2.5, 2.5, 4, 5, 6.5, 6.5, 8};
  EXPECT_EQ(r, want);
}

TEST(Stats, PercentileLikeNumpyLinear) {
  std::vector<double> v = {1, 2, 3, 4, 10};
  EXPECT_NEAR(percentile_sorted(v, 2.5), 1.1, 1e-12);   // numpy.percentile(v, 2.5)
  EXPECT_NEAR(percentile_sorted(v, 97.5), 9.4, 1e-12);  // numpy.percentile(v, 97.5)
  EXPECT_EQ(percentile_sorted(v, 0), 1);
  EXPECT_EQ(percentile_sorted(v, 100), 10);
}

TEST(Stats, PerfectLineHasNoError) {
  std::vector<double> x = {0.5, 0.6, 0.7, 0.8}, y;
  for (double v : x) y.push_back(1.5 - 2 * v);
  auto s = summarize_fit(x, y, {});
  EXPECT_NEAR(s.pearson, -1, 1e-12);
  EXPECT_NEAR(s.line.slope, -2, 1e-12);
  EXPECT_NEAR(s.line.intercept, 1.5, 1e-12);
  EXPECT_NEAR(s.rmse, 0, 1e-12);
  EXPECT_NEAR(s.loo_rmse, 0, 1e-12);
  EXPECT_NEAR(s.r2, 1, 1e-12);
  EXPECT_NEAR(s.pearson_ci.low, -1, 1e-12);
  EXPECT_NEAR(s.pearson_ci.high, -1, 1e-12);
}

TEST(Stats, RmseIsOverNAndR2IsRSquared) {
  auto s = summarize_fit(kX, kY, {});
  Line l = s.line;
  double ss = 0, abs_sum = 0;
  for (size_t i = 0; i < kX.size(); ++i) {
    double e = kY[i] - l.at(kX[i]);
    ss += e * e;
    abs_sum += std::fabs(e);
  }
  EXPECT_NEAR(s.rmse, std::sqrt(ss / 8), 1e-14);
  EXPECT_NEAR(s.mae, abs_sum / 8, 1e-14);
  EXPECT_NEAR(s.r2, s.pearson * s.pearson, 1e-12);
}

TEST(Stats, LeaveOneOutClosedForm) {
  // For least squares, the LOO residual is e_i / (1 - h_i) with leverage h_i = 1/n + (x_i - mx)^2 / Sxx.
  auto pred = leave_one_out_predictions(kX, kY);
  Line l = least_squares(kX, kY);
  double mx = mean(kX), sxx = 0;
  for (double v : kX) sxx += (v - mx) * (v - mx);
  for (size_t i = 0; i < kX.size(); ++i) {
    double h = 1.0 / kX.size() + (kX[i] - mx) * (kX[i] - mx) / sxx;
    double loo_residual = (kY[i] - l.at(kX[i])) / (1 - h);
    EXPECT_NEAR(kY[i] - pred[i], loo_residual, 1e-12) << i;
  }
}

TEST(Stats, BootstrapIsSeededAndDocumented) {
  BootstrapOptions o;
  o.seed = 7;
  o.resamples = 500;
  auto a = bootstrap_pearson_interval(kX, kY, o), b = bootstrap_pearson_interval(kX, kY, o);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_EQ(a.used + a.degenerate, 500);
  EXPECT_LE(a.low, pearson(kX, kY));
  EXPECT_GE(a.high, pearson(kX, kY));
  // The documented scheme, spelled out again: mt19937_64(seed), index = engine() % n.
  std::mt19937_64 engine(7);
  std::vector<double> rs;
  for (int b2 = 0; b2 < 500; ++b2) {
    std::vector<double> bx, by;
    for (size_t i = 0; i < kX.size(); ++i) {
      size_t k = engine() % kX.size();
      bx.push_back(kX[k]);
      by.push_back(kY[k]);
    }
    double r = pearson(bx, by);
    if (!std::isnan(r)) rs.push_back(r);
  }
  std::sort(rs.begin(), rs.end());
  EXPECT_DOUBLE_EQ(a.low, percentile_sorted(rs, 2.5));  // ulps apart: FMA contraction differs by inlining
  EXPECT_DOUBLE_EQ(a.high, percentile_sorted(rs, 97.5));
  o.seed = 8;
  EXPECT_NE(bootstrap_pearson_interval(kX, kY, o).low, a.low);
}

TEST(Stats, UndefinedIsNaN) {
  std::vector<double> c = {1, 1, 1}, y = {1, 2, 3};
  EXPECT_TRUE(std::isnan(pearson(c, y)));
  EXPECT_TRUE(std::isnan(kendall_tau_b(c, y)));
  EXPECT_TRUE(std::isnan(least_squares(c, y).slope));
}
