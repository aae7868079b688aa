// One self-contained HTML page: the BPC leaderboard (with how the BPC was computed), the
// correlation table and the scatter plots, all inline (CSS in <style>, plots as inline <svg>), so
// it opens offline in any browser and can be mailed as one file.
#pragma once

#include <string>
#include <vector>

#include "analysis/correlate.h"

namespace ziq::analysis {

struct ReportInputs {
  std::string title = "ziq report";
  const ModelTable* bpc = nullptr;                  // required: the leaderboard
  const ModelTable* scores = nullptr;               // optional
  const CorrelationResult* correlation = nullptr;  // optional (needs scores)
  std::vector<std::string> notes;
};

std::string render_html_report(const ReportInputs& in);

// The leaderboard's BPC columns (bpc_* and those the pairs use) and its ranking key: the mean of
// bpc_cc, bpc_python, bpc_arxiv_math when all three exist, else the first BPC column.
struct Leaderboard {
  std::vector<std::string> columns;
  std::string key;  // column expression ranked by (lower BPC first)
  struct Row {
    int rank = 0;  // 0 = not ranked (no key value)
    const ModelRow* row = nullptr;
    double key_value = 0;
  };
  std::vector<Row> rows;
};
Leaderboard make_leaderboard(const ModelTable& bpc);

}  // namespace ziq::analysis
