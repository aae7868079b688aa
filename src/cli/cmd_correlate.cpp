// `ziq correlate`: the paper's analysis — benchmark scores against BPC, per pair of columns:
// Pearson, Spearman, Kendall, the least-squares line, R², RMSE (over n), MAE, a bootstrap 95%
// interval for r and leave-one-out error. Says exactly which models matched and which did not.
#include <cmath>

#include "analysis/correlate_cli.h"
#include "cli/command.h"
#include "cli/output.h"

namespace ziq::cli {
namespace {

std::string f(double v, int decimals) { return std::isfinite(v) ? fixed(v, decimals) : "n/a"; }

// Rows left out by --where are summarized (count and filter); every other row left out is listed.
void print_issues(const char* heading, const analysis::ModelTable& t) {
  size_t filtered = 0;
  for (auto& i : t.skipped) filtered += i.filtered;
  if (filtered) {
    std::string filters;
    for (auto& [k, v] : t.where) filters += (filters.empty() ? "" : " ") + k + "=" + v;
    std::fprintf(stderr, "note: %zu row(s) of %s left out by --where %s (--json lists them)\n", filtered,
                 t.source.c_str(), filters.c_str());
  }
  if (filtered == t.skipped.size()) return;
  std::fprintf(stderr, "%s (%zu):\n", heading, t.skipped.size() - filtered);
  for (auto& i : t.skipped)
    if (!i.filtered)
      std::fprintf(stderr, "  %s  %s: %s\n", i.origin.c_str(), i.model.empty() ? "(no name)" : i.model.c_str(),
                   i.reason.c_str());
}

void print_text(const analysis::CorrelateInputs& in, const analysis::CorrelationResult& r, bool quiet) {
  if (!quiet) {
    for (auto& n : in.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    for (auto& n : in.bpc.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    print_issues("scores rows not used", in.scores);
    if (in.bpc.source != in.scores.source) print_issues("BPC rows not used", in.bpc);
  }
  std::printf("scores: %s (%zu rows, name column %s)\n", in.scores.source.c_str(), in.scores.rows.size(),
              in.scores.name_column.c_str());
  std::printf("bpc:    %s (%zu rows)\n", in.bpc.source.c_str(), in.bpc.rows.size());
  std::printf("scores given in %s; fitted as fractions of 1; bootstrap seed %llu, %d resamples\n",
              analysis::unit_name(r.unit).c_str(), static_cast<unsigned long long>(r.bootstrap.seed),
              r.bootstrap.resamples);
  std::string names;
  for (auto& m : r.matched) names += (names.empty() ? "" : ", ") + m.model;
  std::printf("matched %zu model(s): %s\n", r.matched.size(), names.c_str());
  auto unmatched = [](const char* what, const std::vector<analysis::RowIssue>& v) {
    if (v.empty()) return;
    std::printf("%s (%zu):\n", what, v.size());
    for (auto& i : v) std::printf("  %s  %s\n", i.origin.c_str(), i.model.c_str());
  };
  unmatched("in the scores but not in the BPC", r.unmatched_scores);
  unmatched("in the BPC but not in the scores", r.unmatched_bpc);
  for (auto& n : r.notes) std::printf("note: %s\n", n.c_str());

  Table t({"pair", "score", "bpc", "n", "pearson", "95% CI", "spearman", "kendall", "slope", "intercept", "R2",
           "RMSE", "MAE", "LOO RMSE"});
  for (auto& p : r.pairs) {
    if (!p.fit) {
      t.add({p.spec.title, p.spec.score, p.spec.bpc, std::to_string(p.points.size()), p.problem});
      continue;
    }
    auto& s = *p.fit;
    t.add({p.spec.title, p.spec.score, p.spec.bpc, std::to_string(s.n), f(s.pearson, 4),
           "[" + f(s.pearson_ci.low, 3) + ", " + f(s.pearson_ci.high, 3) + "]", f(s.spearman, 4), f(s.kendall, 4),
           f(s.line.slope, 4), f(s.line.intercept, 4), f(s.r2, 4), f(s.rmse, 4), f(s.mae, 4), f(s.loo_rmse, 4)});
  }
  std::printf("\n");
  t.print();
  std::printf("(score = intercept + slope * BPC, scores as fractions; RMSE over n as the paper reports it)\n");
  for (auto& p : r.pairs) {
    if (p.excluded.empty()) continue;
    std::printf("\n%s: %zu matched model(s) not in the fit:\n", p.spec.title.c_str(), p.excluded.size());
    for (auto& e : p.excluded) std::printf("  %s  %s: %s\n", e.origin.c_str(), e.model.c_str(), e.reason.c_str());
  }
}

void setup(CLI::App& sub, const GlobalOptions& global) {
  auto args = std::make_shared<analysis::CorrelateArgs>();
  analysis::add_correlate_options(sub, *args, true);
  sub.callback([args, &global] {
    auto in = analysis::load_correlate_inputs(*args);
    auto result = analysis::correlate(in.scores, in.bpc, in.options);
    if (global.json) {
      auto j = analysis::to_json(result, in.scores, in.bpc);
      j["input_notes"] = in.notes;
      print_json(j);
    } else {
      print_text(in, result, global.quiet);
    }
  });
}
}  // namespace
ZIQ_COMMAND("correlate", "Fit benchmark scores against BPC (Pearson, Spearman, Kendall, line, RMSE, bootstrap, LOO)", setup);
}  // namespace ziq::cli
