// Scatter plots of score against BPC with the fitted line, as SVG text (like the paper's Figure 1):
// labelled points, the least-squares line, Pearson r, RMSE and n in the emptiest corner, axes with
// ticks. Hand-written SVG: a few dozen elements need no plotting library, and the output has no
// external references, so it can be inlined in the HTML report and opens offline.
#pragma once

#include <string>
#include <vector>

#include "analysis/correlate.h"

namespace ziq::analysis {

struct PlotOptions {
  int width = 560;
  int height = 420;
  std::string id = "p0";  // prefix of element ids (clip paths), unique per page
};

// Tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, about `target` ticks,
// the first at or below lo and the last at or above hi.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// Escapes &, <, >, " and ' for XML/HTML text and attributes.
std::string xml_escape(const std::string& s);

// One panel as a standalone <svg> element. Scores are drawn in percent (fraction * 100).
std::string scatter_svg(const PairResult& pair, const PlotOptions& options = {});

// Several panels in a grid of `columns` columns, one <svg> holding nested panels.
std::string scatter_grid_svg(const std::vector<PairResult>& pairs, int columns = 2, const PlotOptions& panel = {});

}  // namespace ziq::analysis
