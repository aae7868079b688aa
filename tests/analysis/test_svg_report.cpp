#include <gtest/gtest.h>

#include "analysis/html_report.h"
#include "analysis/svg_plot.h"

using namespace ziq::analysis;

namespace {
size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

ModelTable bpc_table() {
  return model_table_from_csv(parse_csv("model,bpc_cc,bpc_python,bpc_arxiv_math\n"
                                        "<b>&x,0.6,0.3,0.5\n"
                                        "best,0.5,0.2,0.4\n"
                                        "code_only,,0.25,\n",
                                        "dir/b.csv"),
                              {});
}
}  // namespace

TEST(SvgPlot, NiceTicksCoverTheRange) {
  auto t = nice_ticks(0.527, 0.649);
  ASSERT_GE(t.size(), 3u);
  EXPECT_LE(t.front(), 0.527);
  EXPECT_GE(t.back(), 0.649);
  double step = t[1] - t[0];
  EXPECT_NEAR(step, 0.05, 1e-12);  // range/5 = 0.0244, rounded up to 1, 2 or 5 times a power of ten
  auto same = nice_ticks(3, 3);    // a constant sample still gets an axis
  EXPECT_LT(same.front(), 3);
  EXPECT_GT(same.back(), 3);
}

TEST(SvgPlot, EscapesAndDrawsEveryPoint) {
  EXPECT_EQ(xml_escape("<a & 'b'> \"c\""), "&lt;a &amp; &#39;b&#39;&gt; &quot;c&quot;");
  auto b = bpc_table();
  auto s = model_table_from_csv(parse_csv("model,knowledge_avg\n<b>&x,50\nbest,60\ncode_only,40\n", "s.csv"), {});
  CorrelateOptions o;
  o.pairs = {parse_pair("knowledge_avg=bpc_cc")};
  auto r = correlate(s, b, o);
  std::string svg = scatter_svg(r.pairs[0]);
  EXPECT_EQ(count(svg, "class=\"point\""), 2u);
  EXPECT_EQ(count(svg, "class=\"fit\""), 0u);  // two points: no fit, and the corner says why
  EXPECT_NE(svg.find("no fit: only 2 model(s)"), std::string::npos);
  EXPECT_NE(svg.find("&lt;b&gt;&amp;x"), std::string::npos);
  EXPECT_EQ(svg.find("<b>&x"), std::string::npos);
}

TEST(HtmlReport, LeaderboardRanksByTheMeanOfThePaperSubsets) {
  auto b = bpc_table();
  auto lb = make_leaderboard(b);
  EXPECT_EQ(lb.key, "mean(bpc_cc,bpc_python,bpc_arxiv_math)");
  ASSERT_EQ(lb.rows.size(), 3u);
  EXPECT_EQ(lb.rows[0].row->name, "best");
  EXPECT_EQ(lb.rows[0].rank, 1);
  EXPECT_NEAR(lb.rows[0].key_value, (0.5 + 0.2 + 0.4) / 3, 1e-15);
  EXPECT_EQ(lb.rows[2].row->name, "code_only");
  EXPECT_EQ(lb.rows[2].rank, 0);  // no cc or maths BPC: listed, unranked
  ReportInputs in;
  in.bpc = &b;
  std::string html = render_html_report(in);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<b>Protocol:</b> not recorded in dir/b.csv"), std::string::npos);
  EXPECT_NE(html.find("b.csv:3"), std::string::npos);  // origins shortened to file:line
  EXPECT_EQ(html.find("<b>&x"), std::string::npos);     // names escaped
  EXPECT_EQ(html.find("src="), std::string::npos);
}
