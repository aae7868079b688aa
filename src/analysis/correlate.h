// The paper's analysis: join benchmark scores with BPC by model name, and for each pair of a score
// column and a BPC column fit score = intercept + slope * BPC over the models that have both,
// with the statistics of stats.h. Everything that is not used is reported with the reason:
// unmatched names on either side, rows without a value, rows excluded by the user.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "analysis/model_table.h"
#include "analysis/stats.h"

namespace ziq::analysis {

struct PairSpec {
  std::string title;  // e.g. "Knowledge and commonsense"; for custom pairs the score expression
  std::string score;  // column expression in the scores table
  std::string bpc;    // column expression in the BPC table
  bool builtin = false;
};

// The paper's four panels, with the column names of paper_results.csv (and of ziq's store:
// bpc_<subset>): knowledge_avg ~ bpc_cc, coding_avg ~ bpc_python, math_avg ~ bpc_arxiv_math, and
// the overall average mean(knowledge_avg,coding_avg,math_avg) ~ mean(bpc_cc,bpc_python,bpc_arxiv_math)
// (each area weighs the same, and the BPC is the mean over the three corpora, as in the paper).
std::vector<PairSpec> paper_pairs();
PairSpec parse_pair(const std::string& spec);  // "SCORE=BPC", each side a column expression

enum class ScoreUnit { percent, fraction };

struct Exclusion {
  std::string score;  // the pair's score expression, or "" for every pair
  std::string model;
};
Exclusion parse_exclusion(const std::string& spec);  // "MODEL" or "SCORE:MODEL"

struct CorrelateOptions {
  std::vector<PairSpec> pairs;  // empty: paper_pairs(), skipping those whose columns are absent
  ScoreUnit unit = ScoreUnit::percent;
  std::vector<Exclusion> exclusions;
  BootstrapOptions bootstrap;
};

struct PairPoint {
  std::string model;
  std::string score_origin, bpc_origin;
  double bpc = 0;    // x
  double score = 0;  // y, as a fraction of 1 (percent inputs divided by 100)
};

struct PairResult {
  PairSpec spec;
  std::vector<PairPoint> points;
  std::vector<RowIssue> excluded;  // matched models not in this fit, with the reason
  std::optional<FitSummary> fit;   // absent when the fit is impossible (see problem)
  std::string problem;
};

struct MatchedModel {
  std::string model, score_origin, bpc_origin;
};

struct CorrelationResult {
  ScoreUnit unit = ScoreUnit::percent;
  BootstrapOptions bootstrap;
  std::vector<MatchedModel> matched;
  std::vector<RowIssue> unmatched_scores;  // in the scores, no BPC row of that name
  std::vector<RowIssue> unmatched_bpc;     // BPC rows with no scores
  std::vector<std::string> notes;
  std::vector<PairResult> pairs;
};

// Input errors (listing every bad cell) for non-numeric values in the columns used, scores out
// of range for the unit, and BPC values that are not positive.
CorrelationResult correlate(const ModelTable& scores, const ModelTable& bpc, const CorrelateOptions& options);

nlohmann::json to_json(const CorrelationResult& result, const ModelTable& scores, const ModelTable& bpc);

std::string unit_name(ScoreUnit u);

}  // namespace ziq::analysis

namespace ziq::analysis {

// What `ziq correlate`, `ziq plot` and `ziq report` read, as given on the command line
// (correlate_cli.h adds the options).
struct CorrelateArgs {
  std::string scores;            // scores CSV
  std::string bpc;               // BPC CSV, or "" for the store
  std::string db;                // results store, "" = default_results_path()
  std::string name_column, bpc_name_column;
  std::vector<std::string> where, bpc_where;
  std::vector<std::string> pairs, excludes;
  bool percent = false, fraction = false;
  uint64_t seed = BootstrapOptions{}.seed;
  int resamples = BootstrapOptions{}.resamples;
  store::RunFilter filter;       // which runs of the store
};

struct CorrelateInputs {
  ModelTable scores, bpc;
  CorrelateOptions options;
  std::vector<std::string> notes;  // how the inputs were chosen (printed unless --quiet)
};

// Loads the tables and checks the options. With neither --bpc nor --db, BPC comes from the scores
// file itself when it has the BPC columns of the pairs, else from the default store (a note says
// which). --percent or --fraction is required; without it the usage error says what the values
// look like.
CorrelateInputs load_correlate_inputs(const CorrelateArgs& args);

// BPC alone (for the leaderboard of `ziq report` without scores): --bpc file or the store.
ModelTable load_bpc_table(const CorrelateArgs& args);

}  // namespace ziq::analysis
