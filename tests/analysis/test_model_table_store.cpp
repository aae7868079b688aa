// BPC from the results store for correlate, plot and report: a model's later run replaces an
// earlier one only when both measured the same corpus (fingerprint) with the same protocol; runs of
// other corpora or protocols are refused, listed, until a filter chooses; a note names the runs used.
#include <gtest/gtest.h>

#include "../temp_dir.h"
#include "analysis/model_table.h"
#include "core/error.h"
#include "store/results.h"

namespace {

using namespace ziq;

store::RunRecord run(const std::string& model, const std::string& corpus_fp, const std::string& protocol, double bpc) {
  store::RunRecord r;
  r.run_key = model + corpus_fp + protocol;
  r.model_name = model;
  r.corpus_name = "c.jsonl";
  r.corpus_fingerprint = corpus_fp;
  r.protocol = protocol;
  store::SubsetFigures cc;
  cc.subset = "cc";
  cc.bpc = bpc;
  r.subsets = {cc};
  return r;
}

double cc_of(const analysis::ModelTable& t, const std::string& model) {
  return std::stod(t.find(model)->cells[t.column("bpc_cc")]);
}

TEST(ModelTableStore, RunsOfOtherCorporaOrProtocolsAreNotMixed) {
  const auto dir = test::fresh_temp_dir("ziq_model_table_");
  store::ResultsStore st((dir / "r.sqlite").string());
  st.insert_finished_run(run("A", "aaaa1111", "paper", 1.0));  // run 1
  st.insert_finished_run(run("B", "aaaa1111", "paper", 2.0));  // run 2
  st.insert_finished_run(run("A", "bbbb2222", "paper", 0.5));  // run 3: another corpus
  try {
    analysis::model_table_from_store(st, {});
    FAIL() << "a run on another corpus replaced the figure";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_NE(m.find("A bpc_cc: run 1 on corpus c.jsonl (fingerprint aaaa1111)"), std::string::npos) << m;
    EXPECT_NE(m.find("run 3 on corpus c.jsonl (fingerprint bbbb2222)"), std::string::npos) << m;
    EXPECT_NE(m.find("--corpus-fingerprint"), std::string::npos) << m;
  }
  store::RunFilter first;
  first.corpus_fingerprint = "aaaa";
  auto t = analysis::model_table_from_store(st, first);
  EXPECT_EQ(cc_of(t, "A"), 1.0);
  EXPECT_EQ(cc_of(t, "B"), 2.0);
  ASSERT_FALSE(t.notes.empty());
  EXPECT_EQ(t.notes.back(), "BPC of each model from: A (run 1), B (run 2)");

  // Another protocol on the same corpus: refused too; the same corpus and protocol again: the
  // later run wins, and a note says which it replaced.
  st.insert_finished_run(run("B", "aaaa1111", "full", 1.9));   // run 4
  EXPECT_THROW(analysis::model_table_from_store(st, first), Error);
  first.protocol = "paper";
  st.insert_finished_run(run("A", "aaaa1111", "paper", 1.1));  // run 5
  t = analysis::model_table_from_store(st, first);
  EXPECT_EQ(cc_of(t, "A"), 1.1);
  EXPECT_EQ(t.notes.front(), "A: bpc_cc from run 5 (later) used, run 1 not used");
}

}  // namespace
