// The command-line options shared by `ziq correlate`, `ziq plot` and `ziq report` (header-only so
// that the library does not depend on CLI11; included by those src/cli files only).
#pragma once

#include <CLI/CLI.hpp>

#include "analysis/correlate.h"

namespace ziq::analysis {

inline void add_correlate_options(CLI::App& sub, CorrelateArgs& a, bool scores_required) {
  auto* scores = sub.add_option("--scores", a.scores, "Benchmark scores CSV: a model column and score columns");
  if (scores_required) scores->required();
  scores->check(CLI::ExistingFile);
  sub.add_option("--bpc", a.bpc, "BPC CSV (default: the scores file if it has the BPC columns, else the results store)")
      ->check(CLI::ExistingFile);
  sub.add_option("--db", a.db, "Results store to take BPC from (default $ZIQ_DB, else ~/.local/share/ziq/results.sqlite)");
  sub.add_option("--name-column", a.name_column, "Model-name column of the scores CSV (default: model, model_key, model_name or name)");
  sub.add_option("--bpc-name-column", a.bpc_name_column, "Model-name column of the BPC CSV");
  sub.add_option("--where", a.where, "Keep only scores rows with COLUMN=VALUE (repeatable; all must hold)");
  sub.add_option("--bpc-where", a.bpc_where, "Keep only BPC rows with COLUMN=VALUE");
  sub.add_option("--pair", a.pairs,
                 "SCORECOL=BPCCOL to fit (repeatable; either side may be mean(a,b,..)); default: the paper's "
                 "four panels knowledge_avg=bpc_cc, coding_avg=bpc_python, math_avg=bpc_arxiv_math and their means");
  sub.add_option("--exclude", a.excludes, "Leave MODEL out of every fit, or SCORECOL:MODEL out of one (repeatable; listed)");
  sub.add_flag("--percent", a.percent, "Scores are percentages (0..100); fitted as fractions, as the paper");
  sub.add_flag("--fraction", a.fraction, "Scores are fractions of 1");
  sub.add_option("--seed", a.seed, "Seed of the bootstrap (std::mt19937_64)")->capture_default_str();
  sub.add_option("--resamples", a.resamples, "Bootstrap resamples for the interval of r")->capture_default_str();
  sub.add_option("--model", a.filter.model, "Store: only models whose name contains this");
  sub.add_option("--corpus", a.filter.corpus, "Store: only runs whose corpus name contains this");
  sub.add_option("--protocol", a.filter.protocol, "Store: only runs of this protocol (paper, full, doc)");
  sub.add_option("--corpus-fingerprint", a.filter.corpus_fingerprint,
                 "Store: only runs on the corpus with this fingerprint (or its first digits; `ziq results --json`)");
}

}  // namespace ziq::analysis
