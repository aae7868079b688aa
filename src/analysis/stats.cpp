#include "analysis/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "core/error.h"

namespace ziq::analysis {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_paired(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) internal_error("paired samples of different sizes ({} and {})", x.size(), y.size());
}

int sign(double v) { return (v > 0) - (v < 0); }
}  // namespace

double mean(std::span<const double> v) {
  if (v.empty()) return kNaN;
  double s = 0;
  for (double a : v) s += a;
  return s / static_cast<double>(v.size());
}

double pearson(std::span<const double> x, std::span<const double> y) {
  check_paired(x, y);
  if (x.size() < 2) return kNaN;
  double mx = mean(x), my = mean(y), sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return kNaN;
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

std::vector<double> average_ranks(std::span<const double> v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;  // average of i+1 .. j+1
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double spearman(std::span<const double> x, std::span<const double> y) {
  check_paired(x, y);
  auto rx = average_ranks(x), ry = average_ranks(y);
  return pearson(rx, ry);
}

double kendall_tau_b(std::span<const double> x, std::span<const double> y) {
  check_paired(x, y);
  int64_t concordant = 0, discordant = 0, tied_x_only = 0, tied_y_only = 0;
  for (size_t i = 0; i < x.size(); ++i)
    for (size_t j = i + 1; j < x.size(); ++j) {
      int sx = sign(x[i] - x[j]), sy = sign(y[i] - y[j]);
      if (sx == 0 && sy == 0) continue;  // tied in both: in neither count
      if (sx == 0) ++tied_x_only;
      else if (sy == 0) ++tied_y_only;
      else if (sx == sy) ++concordant;
      else ++discordant;
    }
  double pq = static_cast<double>(concordant + discordant);
  double denom = std::sqrt((pq + static_cast<double>(tied_x_only)) * (pq + static_cast<double>(tied_y_only)));
  if (denom == 0) return kNaN;
  return static_cast<double>(concordant - discordant) / denom;
}

Line least_squares(std::span<const double> x, std::span<const double> y) {
  check_paired(x, y);
  double mx = mean(x), my = mean(y), sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  if (x.size() < 2 || sxx == 0) return {kNaN, kNaN};
  Line l;
  l.slope = sxy / sxx;
  l.intercept = my - l.slope * mx;
  return l;
}

double percentile_sorted(std::span<const double> sorted, double q) {
  if (sorted.empty()) return kNaN;
  double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

Interval bootstrap_pearson_interval(std::span<const double> x, std::span<const double> y,
                                    const BootstrapOptions& options) {
  check_paired(x, y);
  Interval out;
  const size_t n = x.size();
  if (n < 2 || options.resamples <= 0) return {kNaN, kNaN, 0, 0};
  std::mt19937_64 engine(options.seed);
  std::vector<double> rs, bx(n), by(n);
  rs.reserve(static_cast<size_t>(options.resamples));
  for (int b = 0; b < options.resamples; ++b) {
    for (size_t i = 0; i < n; ++i) {
      size_t k = static_cast<size_t>(engine() % n);
      bx[i] = x[k];
      by[i] = y[k];
    }
    double r = pearson(bx, by);
    if (std::isnan(r)) ++out.degenerate;
    else rs.push_back(r);
  }
  out.used = static_cast<int>(rs.size());
  std::sort(rs.begin(), rs.end());
  out.low = percentile_sorted(rs, 50.0 * (1.0 - options.level));
  out.high = percentile_sorted(rs, 50.0 * (1.0 + options.level));
  return out;
}

std::vector<double> leave_one_out_predictions(std::span<const double> x, std::span<const double> y) {
  check_paired(x, y);
  std::vector<double> pred(x.size()), rx, ry;
  for (size_t i = 0; i < x.size(); ++i) {
    rx.clear();
    ry.clear();
    for (size_t j = 0; j < x.size(); ++j)
      if (j != i) {
        rx.push_back(x[j]);
        ry.push_back(y[j]);
      }
    pred[i] = least_squares(rx, ry).at(x[i]);
  }
  return pred;
}

FitSummary summarize_fit(std::span<const double> x, std::span<const double> y, const BootstrapOptions& options) {
  check_paired(x, y);
  FitSummary s;
  s.n = static_cast<int>(x.size());
  if (s.n < 3) internal_error("summarize_fit needs at least 3 points, got {}", s.n);
  s.pearson = pearson(x, y);
  s.spearman = spearman(x, y);
  s.kendall = kendall_tau_b(x, y);
  s.line = least_squares(x, y);
  if (std::isnan(s.line.slope)) internal_error("summarize_fit: x is constant");
  double my = mean(y), ss_res = 0, ss_tot = 0, abs_sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double e = y[i] - s.line.at(x[i]);
    ss_res += e * e;
    abs_sum += std::fabs(e);
    ss_tot += (y[i] - my) * (y[i] - my);
  }
  s.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : kNaN;
  s.rmse = std::sqrt(ss_res / s.n);
  s.mae = abs_sum / s.n;
  s.pearson_ci = bootstrap_pearson_interval(x, y, options);
  s.loo_predictions = leave_one_out_predictions(x, y);
  double loo_sq = 0, loo_abs = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double e = y[i] - s.loo_predictions[i];
    loo_sq += e * e;
    loo_abs += std::fabs(e);
  }
  s.loo_rmse = std::sqrt(loo_sq / s.n);
  s.loo_mae = loo_abs / s.n;
  return s;
}

}  // namespace ziq::analysis
