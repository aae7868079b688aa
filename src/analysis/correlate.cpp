#include "analysis/correlate.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace ziq::analysis {

std::vector<PairSpec> paper_pairs() {
  return {
      {"Knowledge and commonsense", "knowledge_avg", "bpc_cc", true},
      {"Coding", "coding_avg", "bpc_python", true},
      {"Mathematical reasoning", "math_avg", "bpc_arxiv_math", true},
      {"Average", "mean(knowledge_avg,coding_avg,math_avg)", "mean(bpc_cc,bpc_python,bpc_arxiv_math)", true},
  };
}

PairSpec parse_pair(const std::string& spec) {
  // Split at the '=' outside parentheses.
  int depth = 0;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == '(') ++depth;
    else if (spec[i] == ')') --depth;
    else if (spec[i] == '=' && depth == 0) {
      PairSpec p;
      p.score = parse_column_expr(spec.substr(0, i)).text;
      p.bpc = parse_column_expr(spec.substr(i + 1)).text;
      p.title = p.score;
      return p;
    }
  }
  usage_error("--pair '{}': expected SCORECOLUMN=BPCCOLUMN (either side may be mean(a,b,...))", spec);
}

Exclusion parse_exclusion(const std::string& spec) {
  if (spec.empty()) usage_error("--exclude: empty model name");
  // "SCORE:MODEL" only when the part before ':' is not part of a name: we decide later against the
  // pairs; keep both readings here.
  auto colon = spec.find(':');
  if (colon == std::string::npos || spec.find('(') < colon) return {"", spec};
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

std::string unit_name(ScoreUnit u) { return u == ScoreUnit::percent ? "percent" : "fraction"; }

CorrelationResult correlate(const ModelTable& scores, const ModelTable& bpc, const CorrelateOptions& opt) {
  CorrelationResult res;
  res.unit = opt.unit;
  res.bootstrap = opt.bootstrap;

  // Which pairs apply.
  std::vector<PairSpec> pairs = opt.pairs.empty() ? paper_pairs() : opt.pairs;
  std::vector<PairSpec> used;
  for (auto& p : pairs) {
    auto se = parse_column_expr(p.score), be = parse_column_expr(p.bpc);
    std::string missing;
    if (!has_columns(scores, se, &missing)) {
      if (!p.builtin) input_error("{}: no column '{}' for --pair {}={}", scores.source, missing, p.score, p.bpc);
      res.notes.push_back(fmt::format("paper pair '{}' skipped: {} has no column {}", p.title, scores.source, missing));
      continue;
    }
    if (!has_columns(bpc, be, &missing)) {
      if (!p.builtin) input_error("{}: no column '{}' for --pair {}={}", bpc.source, missing, p.score, p.bpc);
      res.notes.push_back(fmt::format("paper pair '{}' skipped: {} has no column {}", p.title, bpc.source, missing));
      continue;
    }
    used.push_back(p);
  }
  if (used.empty())
    usage_error("none of the paper's pairs (knowledge_avg=bpc_cc, coding_avg=bpc_python, math_avg=bpc_arxiv_math) "
                "has its columns in {} and {}; name the columns with --pair SCORE=BPC", scores.source, bpc.source);

  // Exclusions: a "SCORE:" prefix counts only if it names a pair's score; else the whole text is a model.
  std::vector<Exclusion> exclusions;
  for (auto e : opt.exclusions) {
    if (!e.score.empty()) {
      bool names_pair = false;
      for (auto& p : used) names_pair |= p.score == e.score || p.title == e.score;
      if (!names_pair) e = {"", e.score + ":" + e.model};
    }
    exclusions.push_back(e);
  }
  std::vector<bool> exclusion_used(exclusions.size(), false);

  // Join by name, in the scores file's order.
  for (auto& row : scores.rows) {
    if (const ModelRow* b = bpc.find(row.name)) res.matched.push_back({row.name, row.origin, b->origin});
    else res.unmatched_scores.push_back({row.name, row.origin, "no BPC row with this model name in " + bpc.source});
  }
  for (auto& row : bpc.rows)
    if (!scores.find(row.name))
      res.unmatched_bpc.push_back({row.name, row.origin, "no scores row with this model name in " + scores.source});

  std::vector<std::string> bad;
  for (auto& p : used) {
    PairResult pr;
    pr.spec = p;
    auto se = parse_column_expr(p.score), be = parse_column_expr(p.bpc);
    for (auto& m : res.matched) {
      const ModelRow& srow = *scores.find(m.model);
      const ModelRow& brow = *bpc.find(m.model);
      CellValue sv = evaluate(scores, srow, se), bv = evaluate(bpc, brow, be);
      if (!sv.bad_reason.empty()) bad.push_back(sv.bad_reason);
      if (!bv.bad_reason.empty()) bad.push_back(bv.bad_reason);
      if (!sv.bad_reason.empty() || !bv.bad_reason.empty()) continue;
      std::string why;
      if (!sv.value) why = sv.missing_reason;
      if (!bv.value) why += (why.empty() ? "" : ", ") + bv.missing_reason;
      if (!bv.value && brow.origin != srow.origin) why += " (" + brow.origin + ")";
      if (!why.empty()) {
        pr.excluded.push_back({m.model, srow.origin, why});
        continue;
      }
      double y = *sv.value;
      if (opt.unit == ScoreUnit::percent && (y < 0 || y > 100))
        bad.push_back(fmt::format("{}: {} = {} is outside 0..100 (scores given as --percent)", srow.origin, p.score, y));
      if (opt.unit == ScoreUnit::fraction && (y < 0 || y > 1))
        bad.push_back(fmt::format("{}: {} = {} is outside 0..1 (scores given as --fraction; percent? use --percent)",
                                  srow.origin, p.score, y));
      if (*bv.value <= 0) bad.push_back(fmt::format("{}: {} = {} is not a positive BPC", brow.origin, p.bpc, *bv.value));
      bool excluded = false;
      for (size_t k = 0; k < exclusions.size(); ++k)
        if (exclusions[k].model == m.model && (exclusions[k].score.empty() || exclusions[k].score == p.score ||
                                               exclusions[k].score == p.title)) {
          exclusion_used[k] = true;
          excluded = true;
        }
      if (excluded) {
        pr.excluded.push_back({m.model, srow.origin, "excluded by --exclude"});
        continue;
      }
      if (opt.unit == ScoreUnit::percent) y /= 100.0;
      pr.points.push_back({m.model, srow.origin, brow.origin, *bv.value, y});
    }
    std::vector<double> x, y;
    for (auto& pt : pr.points) {
      x.push_back(pt.bpc);
      y.push_back(pt.score);
    }
    bool constant_x = true;
    for (double v : x) constant_x &= v == x.front();
    if (pr.points.size() < 3) pr.problem = fmt::format("only {} model(s) with both values; a fit needs 3", pr.points.size());
    else if (constant_x) pr.problem = "every model has the same BPC; no line can be fitted";
    else pr.fit = summarize_fit(x, y, opt.bootstrap);
    res.pairs.push_back(std::move(pr));
  }
  if (!bad.empty()) {
    std::string msg = fmt::format("{} bad value(s):", bad.size());
    for (size_t i = 0; i < bad.size() && i < 30; ++i) msg += "\n  " + bad[i];
    if (bad.size() > 30) msg += fmt::format("\n  ... and {} more", bad.size() - 30);
    throw Error(ErrorKind::input, msg);
  }
  for (size_t k = 0; k < exclusions.size(); ++k)
    if (!exclusion_used[k])
      res.notes.push_back(fmt::format("--exclude {}{}: no such model among the matched rows of the pairs",
                                      exclusions[k].score.empty() ? "" : exclusions[k].score + ":", exclusions[k].model));
  return res;
}

namespace {
nlohmann::json num(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;
}

nlohmann::json issues_json(const std::vector<RowIssue>& v) {
  auto a = nlohmann::json::array();
  for (auto& i : v)
    a.push_back({{"model", i.model}, {"origin", i.origin}, {"reason", i.reason}, {"by_where_filter", i.filtered}});
  return a;
}

nlohmann::json table_json(const ModelTable& t) {
  auto where = nlohmann::json::object();
  for (auto& [k, v] : t.where) where[k] = v;
  return {{"source", t.source},   {"name_column", t.name_column}, {"rows", t.rows.size()},
          {"where", where},       {"skipped", issues_json(t.skipped)}, {"notes", t.notes}};
}
}  // namespace

nlohmann::json to_json(const CorrelationResult& r, const ModelTable& scores, const ModelTable& bpc) {
  nlohmann::json j;
  j["scores"] = table_json(scores);
  j["bpc"] = table_json(bpc);
  j["score_unit"] = unit_name(r.unit);
  j["score_scale"] = "fraction of 1 (percent inputs divided by 100), as the paper fits";
  j["bootstrap"] = {{"rng", "std::mt19937_64(seed)"},
                    {"index", "engine() % n, n draws per resample, in order"},
                    {"seed", r.bootstrap.seed},
                    {"resamples", r.bootstrap.resamples},
                    {"level", r.bootstrap.level},
                    {"interval", "percentile, linear interpolation (numpy default)"}};
  auto matched = nlohmann::json::array();
  for (auto& m : r.matched) matched.push_back({{"model", m.model}, {"scores", m.score_origin}, {"bpc", m.bpc_origin}});
  j["matched"] = matched;
  j["unmatched_scores"] = issues_json(r.unmatched_scores);
  j["unmatched_bpc"] = issues_json(r.unmatched_bpc);
  j["notes"] = r.notes;
  auto pairs = nlohmann::json::array();
  for (auto& p : r.pairs) {
    nlohmann::json pj = {{"title", p.spec.title}, {"score", p.spec.score}, {"bpc", p.spec.bpc},
                         {"n", p.points.size()},  {"excluded", issues_json(p.excluded)}};
    auto models = nlohmann::json::array(), xs = nlohmann::json::array(), ys = nlohmann::json::array(),
         origins = nlohmann::json::array();
    for (auto& pt : p.points) {
      models.push_back(pt.model);
      xs.push_back(pt.bpc);
      ys.push_back(pt.score);
      origins.push_back({{"scores", pt.score_origin}, {"bpc", pt.bpc_origin}});
    }
    pj["models"] = models;
    pj["bpc_values"] = xs;
    pj["score_values"] = ys;
    pj["origins"] = origins;
    if (p.fit) {
      const FitSummary& f = *p.fit;
      pj["pearson"] = num(f.pearson);
      pj["spearman"] = num(f.spearman);
      pj["kendall_tau_b"] = num(f.kendall);
      pj["slope"] = num(f.line.slope);
      pj["intercept"] = num(f.line.intercept);
      pj["r2"] = num(f.r2);
      pj["rmse"] = num(f.rmse);
      pj["mae"] = num(f.mae);
      pj["pearson_ci"] = {{"low", num(f.pearson_ci.low)},
                          {"high", num(f.pearson_ci.high)},
                          {"level", r.bootstrap.level},
                          {"resamples_used", f.pearson_ci.used},
                          {"resamples_degenerate", f.pearson_ci.degenerate}};
      pj["loo_rmse"] = num(f.loo_rmse);
      pj["loo_mae"] = num(f.loo_mae);
      auto loo = nlohmann::json::array();
      for (double v : f.loo_predictions) loo.push_back(num(v));
      pj["loo_predictions"] = loo;
      pj["problem"] = nullptr;
    } else {
      pj["problem"] = p.problem;
    }
    pairs.push_back(pj);
  }
  j["pairs"] = pairs;
  return j;
}

}  // namespace ziq::analysis

#include <filesystem>

namespace ziq::analysis {
namespace {
CsvSelection selection(const std::string& name_column, const std::vector<std::string>& where) {
  CsvSelection s;
  s.name_column = name_column;
  for (auto& w : where) s.where.push_back(parse_where(w));
  return s;
}

ModelTable store_table(const CorrelateArgs& a) {
  std::string path = a.db.empty() ? store::default_results_path() : a.db;
  if (!std::filesystem::exists(path))
    input_error("{}: no results store here (run `ziq eval` or `ziq results import FILE.csv` first, "
                "or give BPC with --bpc FILE.csv)", path);
  store::ResultsStore st(path, /*read_only=*/true);
  return model_table_from_store(st, a.filter);
}
}  // namespace

ModelTable load_bpc_table(const CorrelateArgs& a) {
  if (!a.bpc.empty()) return model_table_from_csv(read_csv(a.bpc), selection(a.bpc_name_column, a.bpc_where));
  return store_table(a);
}

CorrelateInputs load_correlate_inputs(const CorrelateArgs& a) {
  if (!a.bpc.empty() && !a.db.empty()) usage_error("give BPC either with --bpc FILE or with --db PATH, not both");
  if (a.percent && a.fraction) usage_error("--percent and --fraction exclude each other");
  if (a.resamples < 0) usage_error("--resamples must be >= 0");
  CorrelateInputs in;
  in.scores = model_table_from_csv(read_csv(a.scores), selection(a.name_column, a.where));
  for (auto& p : a.pairs) in.options.pairs.push_back(parse_pair(p));
  for (auto& e : a.excludes) in.options.exclusions.push_back(parse_exclusion(e));
  in.options.bootstrap.seed = a.seed;
  in.options.bootstrap.resamples = a.resamples;

  auto pairs = in.options.pairs.empty() ? paper_pairs() : in.options.pairs;
  if (!a.bpc.empty()) {
    if (a.bpc == a.scores && a.bpc_where.empty() && a.bpc_name_column.empty()) in.bpc = in.scores;
    else in.bpc = load_bpc_table(a);
  } else if (!a.db.empty()) {
    in.bpc = store_table(a);
  } else {
    bool self = false;
    for (auto& p : pairs) self |= has_columns(in.scores, parse_column_expr(p.bpc));
    if (self) {
      in.bpc = in.scores;
      in.notes.push_back(fmt::format("BPC taken from the scores file {} itself (its BPC columns); "
                                     "use --bpc or --db to take it from elsewhere", a.scores));
    } else {
      in.bpc = store_table(a);
      in.notes.push_back("BPC taken from the " + in.bpc.source);
    }
  }

  if (!a.percent && !a.fraction) {
    double lo = INFINITY, hi = -INFINITY;
    for (auto& p : pairs) {
      auto e = parse_column_expr(p.score);
      if (!has_columns(in.scores, e)) continue;
      for (auto& row : in.scores.rows) {
        auto v = evaluate(in.scores, row, e).value;
        if (v) lo = std::min(lo, *v), hi = std::max(hi, *v);
      }
    }
    std::string looks = !std::isfinite(hi) ? "" :
        fmt::format(" (the score values range from {} to {}, which looks like {})", lo, hi,
                    hi > 1 ? "percent: --percent" : "fractions: --fraction");
    usage_error("say how the scores are given: --percent (0..100) or --fraction (0..1){}", looks);
  }
  in.options.unit = a.percent ? ScoreUnit::percent : ScoreUnit::fraction;
  return in;
}

}  // namespace ziq::analysis
