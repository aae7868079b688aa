#include "analysis/correlate.h"

#include <gtest/gtest.h>

#include "core/error.h"

using namespace ziq::analysis;

namespace {
ModelTable table(const std::string& text, const std::string& path = "s.csv", std::vector<std::string> where = {}) {
  CsvSelection sel;
  for (auto& w : where) sel.where.push_back(parse_where(w));
  return model_table_from_csv(parse_csv(text, path), sel);
}

const char* kScores =
    "model,knowledge_avg,coding_avg\n"
    "a,50,20\n"
    "b,55,25\n"
    "c,60,\n"      // line 4: coding missing
    "d,65,35\n"
    "e,70,40\n"
    "only_scores,80,50\n";
const char* kBpc =
    "model,bpc_cc,bpc_python\n"
    "a,0.70,0.40\n"
    "b,0.66,0.37\n"
    "c,0.61,0.33\n"
    "d,0.58,0.30\n"
    "e,0.55,0.28\n"
    "only_bpc,0.5,0.2\n";

std::string input_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ziq::Error& e) {
    EXPECT_EQ(e.exit_code(), ziq::kExitInput);
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Correlate, JoinsReportsAndFits) {
  auto s = table(kScores), b = table(kBpc, "b.csv");
  CorrelateOptions o;
  o.exclusions.push_back(parse_exclusion("knowledge_avg:e"));
  auto r = correlate(s, b, o);
  ASSERT_EQ(r.matched.size(), 5u);
  ASSERT_EQ(r.unmatched_scores.size(), 1u);
  EXPECT_EQ(r.unmatched_scores[0].model, "only_scores");
  EXPECT_EQ(r.unmatched_scores[0].origin, "s.csv:7");
  ASSERT_EQ(r.unmatched_bpc.size(), 1u);
  EXPECT_EQ(r.unmatched_bpc[0].origin, "b.csv:7");
  // Only the knowledge and coding pairs of the paper have their columns here; the others are noted.
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_EQ(r.notes.size(), 2u);
  auto& k = r.pairs[0];
  EXPECT_EQ(k.points.size(), 4u);
  ASSERT_EQ(k.excluded.size(), 1u);
  EXPECT_EQ(k.excluded[0].reason, "excluded by --exclude");
  EXPECT_NEAR(k.points[0].score, 0.50, 1e-15);  // percent -> fraction
  auto& c = r.pairs[1];
  ASSERT_EQ(c.excluded.size(), 1u);
  EXPECT_EQ(c.excluded[0].model, "c");
  EXPECT_EQ(c.excluded[0].reason, "coding_avg is empty");
  ASSERT_TRUE(c.fit.has_value());
  EXPECT_EQ(c.fit->n, 4);
  EXPECT_LT(c.fit->pearson, -0.9);
}

TEST(Correlate, BadInputIsReportedPerRow) {
  auto b = table(kBpc, "b.csv");
  CorrelateOptions o;
  std::string msg = input_error_of([&] {
    correlate(table("model,knowledge_avg,coding_avg\na,n/a,1\nb,50,x\n"), b, o);
  });
  EXPECT_NE(msg.find("s.csv:2: column 'knowledge_avg' (field 2): 'n/a' is not a number"), std::string::npos) << msg;
  EXPECT_NE(msg.find("s.csv:3: column 'coding_avg' (field 3): 'x' is not a number"), std::string::npos) << msg;
  msg = input_error_of([&] { table("model,v\na,1\nb,2\na,3\n"); });
  EXPECT_NE(msg.find("'a' on s.csv:2 s.csv:4"), std::string::npos) << msg;
  o.unit = ScoreUnit::fraction;
  msg = input_error_of([&] { correlate(table(kScores), b, o); });
  EXPECT_NE(msg.find("s.csv:2: knowledge_avg = 50 is outside 0..1"), std::string::npos) << msg;
}

TEST(Correlate, WhereFilterAndMissingNamesAreListed) {
  auto t = table("src,model,v\np,a,1\nq,a,2\np,,3\n", "s.csv", {"src=p"});
  ASSERT_EQ(t.rows.size(), 1u);
  ASSERT_EQ(t.skipped.size(), 2u);
  EXPECT_TRUE(t.skipped[0].filtered);
  EXPECT_EQ(t.skipped[0].origin, "s.csv:3");
  EXPECT_FALSE(t.skipped[1].filtered);
  EXPECT_EQ(t.skipped[1].origin, "s.csv:4");
}

TEST(Correlate, MeanExpressionsAndCustomPairs) {
  auto s = table(kScores), b = table(kBpc, "b.csv");
  CorrelateOptions o;
  o.pairs = {parse_pair("mean(knowledge_avg,coding_avg)=mean(bpc_cc,bpc_python)")};
  auto r = correlate(s, b, o);
  ASSERT_EQ(r.pairs.size(), 1u);
  ASSERT_EQ(r.pairs[0].points.size(), 4u);  // c lacks coding_avg
  EXPECT_NEAR(r.pairs[0].points[0].score, (0.50 + 0.20) / 2, 1e-15);
  EXPECT_NEAR(r.pairs[0].points[0].bpc, (0.70 + 0.40) / 2, 1e-15);
  o.pairs = {parse_pair("nope=bpc_cc")};
  EXPECT_NE(input_error_of([&] { correlate(s, b, o); }).find("no column 'nope'"), std::string::npos);
  EXPECT_THROW(parse_pair("no_equals_sign"), ziq::Error);
}

TEST(Correlate, TooFewRowsIsAProblemNotACrash) {
  auto s = table("model,knowledge_avg\na,50\nb,60\n"), b = table("model,bpc_cc\na,0.7\nb,0.6\n", "b.csv");
  auto r = correlate(s, b, {});
  ASSERT_EQ(r.pairs.size(), 1u);
  EXPECT_FALSE(r.pairs[0].fit.has_value());
  EXPECT_NE(r.pairs[0].problem.find("only 2"), std::string::npos);
}
