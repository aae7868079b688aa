#include "analysis/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/svg_plot.h"
#include "store/results.h"

namespace ziq::analysis {
namespace {

const char* kStyle = R"css(
body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1180px; color: #222; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.meta, p.note { color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { padding: 3px 9px; border-bottom: 1px solid #eee; text-align: left; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.unranked td { color: #777; }
td.expr { font-family: monospace; font-size: 11px; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #ddd; padding: 4px; }
figcaption { font-size: 12px; color: #555; max-width: 560px; padding: 4px; }
ul.issues { font-size: 12px; color: #555; }
)css";

std::string esc(const std::string& s) { return xml_escape(s); }

// "dir/file.csv:12" -> "file.csv:12": the page names the full path once, at the top.
std::string short_origin(const std::string& origin) {
  auto slash = origin.rfind('/');
  return slash == std::string::npos ? origin : origin.substr(slash + 1);
}

// The models of a fit that were left out, grouped by reason: "reason: a, b; other reason: c".
std::string excluded_summary(const std::vector<RowIssue>& excluded) {
  std::vector<std::pair<std::string, std::string>> groups;
  for (auto& e : excluded) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == e.reason; });
    if (it == groups.end()) groups.push_back({e.reason, e.model});
    else it->second += ", " + e.model;
  }
  std::string out;
  for (auto& [reason, models] : groups) out += (out.empty() ? "" : "; ") + reason + ": " + models;
  return out;
}
std::string f(double v, int d) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, d) : "n/a"; }

}  // namespace

Leaderboard make_leaderboard(const ModelTable& bpc) {
  Leaderboard lb;
  for (auto& c : bpc.columns)
    if (c.rfind("bpc", 0) == 0) lb.columns.push_back(c);
  bool paper = bpc.column("bpc_cc") >= 0 && bpc.column("bpc_python") >= 0 && bpc.column("bpc_arxiv_math") >= 0;
  lb.key = paper ? "mean(bpc_cc,bpc_python,bpc_arxiv_math)" : (lb.columns.empty() ? "" : lb.columns[0]);
  std::vector<Leaderboard::Row> ranked, unranked;
  for (auto& r : bpc.rows) {
    Leaderboard::Row row;
    row.row = &r;
    if (!lb.key.empty()) {
      auto v = evaluate(bpc, r, parse_column_expr(lb.key));
      if (v.value) {
        row.key_value = *v.value;
        ranked.push_back(row);
        continue;
      }
    }
    unranked.push_back(row);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.key_value < b.key_value; });
  for (size_t i = 0; i < ranked.size(); ++i) ranked[i].rank = static_cast<int>(i) + 1;
  lb.rows = ranked;
  lb.rows.insert(lb.rows.end(), unranked.begin(), unranked.end());
  return lb;
}

std::string render_html_report(const ReportInputs& in) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>" + esc(in.title) + "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  h += "<h1>" + esc(in.title) + "</h1>\n";
  h += fmt::format("<p class=\"meta\">Made by ziq {} on {}. BPC from {}{}.</p>\n", ZIQ_VERSION, store::utc_now_iso8601(),
                   esc(in.bpc->source), in.scores ? "; scores from " + esc(in.scores->source) : "");
  for (auto& n : in.notes) h += "<p class=\"note\">" + esc(n) + "</p>\n";

  // Leaderboard.
  Leaderboard lb = make_leaderboard(*in.bpc);
  h += "<h2>Leaderboard: bits per character (lower is better)</h2>\n";
  h += "<p class=\"note\"><b>Protocol:</b> " + esc(in.bpc->protocol) + ". Ranked by " + esc(lb.key) +
       "; models without it are listed after, unranked.</p>\n";
  h += "<table class=\"leaderboard\">\n<tr><th>#</th><th>model</th>";
  for (auto& c : lb.columns) h += "<th>" + esc(c) + "</th>";
  if (lb.key.rfind("mean(", 0) == 0) h += "<th>mean of the three</th>";
  h += "<th>from</th></tr>\n";
  for (auto& r : lb.rows) {
    h += r.rank ? "<tr>" : "<tr class=\"unranked\">";
    h += "<td class=\"num\">" + (r.rank ? std::to_string(r.rank) : std::string("&ndash;")) + "</td><td>" + esc(r.row->name) + "</td>";
    for (auto& c : lb.columns) {
      bool bad = false;
      auto v = parse_number(r.row->cells[in.bpc->column(c)], &bad);
      h += "<td class=\"num\">" + (v ? f(*v, 4) : std::string()) + "</td>";
    }
    if (lb.key.rfind("mean(", 0) == 0) h += "<td class=\"num\">" + (r.rank ? f(r.key_value, 4) : std::string()) + "</td>";
    h += "<td>" + esc(short_origin(r.row->origin)) + "</td></tr>\n";
  }
  h += "</table>\n";

  if (in.correlation) {
    const CorrelationResult& c = *in.correlation;
    h += "<h2>Score against BPC</h2>\n";
    h += fmt::format("<p class=\"note\">Scores given in {}, fitted as fractions of 1: score = intercept + slope &times; BPC. "
                     "RMSE and MAE over n (as the paper reports them); 95% interval of Pearson r by bootstrap "
                     "(std::mt19937_64, seed {}, {} resamples, percentile); LOO = leave-one-out prediction error. "
                     "{} model(s) matched by name.</p>\n",
                     unit_name(c.unit), c.bootstrap.seed, c.bootstrap.resamples, c.matched.size());
    h += "<table class=\"correlation\">\n<tr><th>pair</th><th>score ~ BPC</th><th>n</th><th>Pearson r</th>"
         "<th>95% CI</th><th>Spearman</th><th>Kendall &tau;<sub>b</sub></th><th>slope</th><th>intercept</th>"
         "<th>R&sup2;</th><th>RMSE</th><th>MAE</th><th>LOO RMSE</th></tr>\n";
    for (auto& p : c.pairs) {
      h += "<tr><td>" + esc(p.spec.title) + "</td><td class=\"expr\">" + esc(p.spec.score) + " ~<br>" + esc(p.spec.bpc) + "</td>";
      if (!p.fit) {
        h += fmt::format("<td class=\"num\">{}</td><td colspan=\"10\">{}</td></tr>\n", p.points.size(), esc(p.problem));
        continue;
      }
      auto& s = *p.fit;
      h += fmt::format("<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">[{}, {}]</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                       s.n, f(s.pearson, 3), f(s.pearson_ci.low, 3), f(s.pearson_ci.high, 3), f(s.spearman, 3),
                       f(s.kendall, 3), f(s.line.slope, 4), f(s.line.intercept, 4), f(s.r2, 3), f(s.rmse, 4),
                       f(s.mae, 4), f(s.loo_rmse, 4));
    }
    h += "</table>\n";

    h += "<h2>Plots</h2>\n<div class=\"plots\">\n";
    for (size_t i = 0; i < c.pairs.size(); ++i) {
      auto& p = c.pairs[i];
      PlotOptions o;
      o.id = fmt::format("plot{}", i);
      h += "<figure>\n" + scatter_svg(p, o);
      std::string cap = fmt::format("{}: {} model(s) plotted", p.spec.title, p.points.size());
      if (!p.excluded.empty()) cap += ". Not in the fit: " + excluded_summary(p.excluded);
      h += "<figcaption>" + esc(cap) + "</figcaption>\n</figure>\n";
    }
    h += "</div>\n";

    if (!c.unmatched_scores.empty() || !c.unmatched_bpc.empty() || !c.notes.empty()) {
      h += "<h2>Not matched</h2>\n<ul class=\"issues\">\n";
      for (auto& u : c.unmatched_scores) h += "<li>" + esc(short_origin(u.origin) + " " + u.model + ": " + u.reason) + "</li>\n";
      for (auto& u : c.unmatched_bpc) h += "<li>" + esc(short_origin(u.origin) + " " + u.model + ": " + u.reason) + "</li>\n";
      for (auto& n : c.notes) h += "<li>" + esc(n) + "</li>\n";
      h += "</ul>\n";
    }
  }
  size_t filtered = 0;
  std::vector<const RowIssue*> others;
  for (const ModelTable* t : {in.scores, in.bpc}) {
    if (!t || (t == in.bpc && in.scores && in.bpc->source == in.scores->source)) continue;
    for (auto& s : t->skipped) {
      if (s.filtered) ++filtered;
      else others.push_back(&s);
    }
  }
  if (filtered || !others.empty()) {
    h += "<h2>Rows left out of the inputs</h2>\n<ul class=\"issues\">\n";
    if (filtered) h += fmt::format("<li>{} row(s) left out by --where filters</li>\n", filtered);
    for (auto* s : others) h += "<li>" + esc(short_origin(s->origin) + " " + s->model + ": " + s->reason) + "</li>\n";
    h += "</ul>\n";
  }
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace ziq::analysis
