// The statistics of the paper's analysis, over paired samples (x = BPC, y = score):
// correlation (Pearson, Spearman, Kendall tau-b), the least-squares line, its errors, a seeded
// bootstrap interval for Pearson r and leave-one-out prediction error. Plain double loops: the
// samples are tens of models, and every formula is spelled out so a reader can check it.
//
// Conventions (each matches the peer the tests compare with):
// - pearson: sum((x-mx)(y-my)) / sqrt(sum((x-mx)^2) sum((y-my)^2)), as scipy.stats.pearsonr.
// - spearman: Pearson r of the ranks, ties given their average rank (scipy.stats.spearmanr).
// - kendall_tau_b: (P - Q) / sqrt((P + Q + Tx) (P + Q + Ty)), Tx/Ty = pairs tied only in x / y
//   (scipy.stats.kendalltau's default, variant 'b').
// - rmse = sqrt(mean(residual^2)) over n (not n - 2), as the paper reports it; mae = mean |residual|.
// - r2 = 1 - SS_res / SS_tot of the least-squares line (equals pearson^2).
// An undefined statistic (a constant sample) is NaN.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ziq::analysis {

double mean(std::span<const double> v);
double pearson(std::span<const double> x, std::span<const double> y);
std::vector<double> average_ranks(std::span<const double> v);  // 1-based, ties averaged
double spearman(std::span<const double> x, std::span<const double> y);
double kendall_tau_b(std::span<const double> x, std::span<const double> y);

struct Line {
  double slope = 0;
  double intercept = 0;
  double at(double x) const { return intercept + slope * x; }
};
Line least_squares(std::span<const double> x, std::span<const double> y);  // y = intercept + slope x

// Percentile of a sorted sample with linear interpolation between closest ranks (numpy's default
// 'linear' method): position q/100 * (m - 1).
double percentile_sorted(std::span<const double> sorted, double q);

// Bootstrap interval for Pearson r. Resampling scheme: a std::mt19937_64 engine seeded with
// `seed` (its one-integer constructor); for each of `resamples` resamples, n indices are drawn in
// order as engine() % n (the modulo bias is below n / 2^64, negligible); r is computed on the
// resampled pairs. Resamples whose x or y is constant (r undefined) are counted and left out. The
// interval is the (1-level)/2 and (1+level)/2 percentiles of the remaining r values.
struct BootstrapOptions {
  uint64_t seed = 20240415;  // the paper's arXiv date; any fixed value reproduces
  int resamples = 10000;
  double level = 0.95;
};
struct Interval {
  double low = 0, high = 0;
  int used = 0;        // resamples with a defined r
  int degenerate = 0;  // resamples left out (constant x or y)
};
Interval bootstrap_pearson_interval(std::span<const double> x, std::span<const double> y,
                                    const BootstrapOptions& options);

// Leave-one-out: for each i, the least-squares line fitted without point i, evaluated at x[i].
std::vector<double> leave_one_out_predictions(std::span<const double> x, std::span<const double> y);

struct FitSummary {
  int n = 0;
  double pearson = 0, spearman = 0, kendall = 0;
  Line line;
  double r2 = 0, rmse = 0, mae = 0;
  Interval pearson_ci;
  double loo_rmse = 0, loo_mae = 0;
  std::vector<double> loo_predictions;
};

// Everything above for one sample; needs n >= 3 and a non-constant x (internal_error otherwise;
// callers check first and report the reason to the user).
FitSummary summarize_fit(std::span<const double> x, std::span<const double> y, const BootstrapOptions& options);

}  // namespace ziq::analysis
