// `ziq report -o report.html`: one self-contained HTML page with the BPC leaderboard (protocol
// stated), and, given --scores, the correlation table and the scatter plots. No external
// resources: it opens offline.
#include <fstream>

#include "analysis/correlate_cli.h"
#include "analysis/html_report.h"
#include "cli/command.h"
#include "cli/output.h"
#include "core/error.h"

namespace ziq::cli {
namespace {
struct ReportArgs {
  analysis::CorrelateArgs in;
  std::string output, title = "ziq report";
};

void setup(CLI::App& sub, const GlobalOptions& global) {
  auto a = std::make_shared<ReportArgs>();
  analysis::add_correlate_options(sub, a->in, false);
  sub.add_option("-o,--output", a->output, "HTML file to write")->required();
  sub.add_option("--title", a->title, "Page title")->capture_default_str();
  sub.callback([a, &global] {
    analysis::ReportInputs r;
    r.title = a->title;
    analysis::CorrelateInputs in;
    analysis::CorrelationResult result;
    if (!a->in.scores.empty()) {
      in = analysis::load_correlate_inputs(a->in);
      result = analysis::correlate(in.scores, in.bpc, in.options);
      r.scores = &in.scores;
      r.correlation = &result;
      r.notes = in.notes;
    } else {
      in.bpc = analysis::load_bpc_table(a->in);
    }
    r.bpc = &in.bpc;
    std::string html = analysis::render_html_report(r);
    std::ofstream out(a->output, std::ios::binary);
    out << html;
    if (!out.flush()) input_error("{}: cannot write", a->output);
    if (global.json) {
      print_json({{"output", a->output}, {"models", in.bpc.rows.size()}, {"plots", result.pairs.size()}});
    } else {
      if (!global.quiet)
        for (auto& n : in.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
      std::printf("wrote %s (%zu model(s) in the leaderboard, %zu plot(s))\n", a->output.c_str(), in.bpc.rows.size(),
                  result.pairs.size());
    }
  });
}
}  // namespace
ZIQ_COMMAND("report", "Write one self-contained HTML page: leaderboard, correlation table, plots", setup);
}  // namespace ziq::cli
