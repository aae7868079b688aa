// `ziq plot`: SVG scatter of benchmark score against BPC with the fitted line, labelled points and
// r / RMSE in the corner (the paper's Figure 1). One pair gives one panel; several (the paper's
// four by default) give a grid of panels in one file.
#include <fstream>

#include "analysis/correlate_cli.h"
#include "analysis/svg_plot.h"
#include "cli/command.h"
#include "cli/output.h"
#include "core/error.h"

namespace ziq::cli {
namespace {
struct PlotArgs {
  analysis::CorrelateArgs in;
  std::string output;
  int columns = 2, width = 560, height = 420;
};

void setup(CLI::App& sub, const GlobalOptions& global) {
  auto a = std::make_shared<PlotArgs>();
  analysis::add_correlate_options(sub, a->in, true);
  sub.add_option("-o,--output", a->output, "SVG file to write")->required();
  sub.add_option("--columns", a->columns, "Panels per row when plotting several pairs")->capture_default_str();
  sub.add_option("--width", a->width, "Width of one panel in pixels")->capture_default_str();
  sub.add_option("--height", a->height, "Height of one panel in pixels")->capture_default_str();
  sub.callback([a, &global] {
    if (a->width < 200 || a->height < 150) usage_error("--width must be >= 200 and --height >= 150");
    auto in = analysis::load_correlate_inputs(a->in);
    auto result = analysis::correlate(in.scores, in.bpc, in.options);
    analysis::PlotOptions o;
    o.width = a->width;
    o.height = a->height;
    std::string svg = result.pairs.size() == 1 ? analysis::scatter_svg(result.pairs[0], o)
                                               : analysis::scatter_grid_svg(result.pairs, a->columns, o);
    std::ofstream out(a->output, std::ios::binary);
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" << svg;
    if (!out.flush()) input_error("{}: cannot write", a->output);
    size_t points = 0;
    for (auto& p : result.pairs) points += p.points.size();
    if (global.json) {
      print_json({{"output", a->output}, {"panels", result.pairs.size()}, {"points", points}});
    } else if (!global.quiet) {
      for (auto& n : in.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
      for (auto& p : result.pairs)
        std::fprintf(stderr, "%s: %zu point(s), %zu matched model(s) not plotted (see `ziq correlate`)\n",
                     p.spec.title.c_str(), p.points.size(), p.excluded.size());
      std::printf("wrote %s (%zu panel(s))\n", a->output.c_str(), result.pairs.size());
    }
  });
}
}  // namespace
ZIQ_COMMAND("plot", "SVG scatter of score against BPC with the fitted line (the paper's Figure 1)", setup);
}  // namespace ziq::cli
