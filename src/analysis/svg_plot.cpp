// Hand-written SVG (see svg_plot.h for why). Coordinates are computed here; nothing is measured by
// a renderer, so label widths are estimated from character counts (0.6 em per character).
#include "analysis/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ziq::analysis {
namespace {

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

int tick_decimals(double step) { return std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9))); }

std::string num(double v, int decimals) {
  std::string s = fmt::format("{:.{}f}", v, decimals);
  return s == "-0" || s == "-0.0" || s == "-0.00" || s == "-0.000" ? s.substr(1) : s;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) {
    double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  double raw = (hi - lo) / std::max(1, target);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  double first = std::floor(lo / step + 1e-9) * step, last = std::ceil(hi / step - 1e-9) * step;
  for (int i = 0; first + i * step <= last + step * 1e-6; ++i) ticks.push_back(first + i * step);
  return ticks;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string scatter_svg(const PairResult& pair, const PlotOptions& o) {
  const double W = o.width, H = o.height;
  const double left = 62, right = 16, top = 34, bottom = 50;
  const double pw = W - left - right, ph = H - top - bottom;

  std::vector<double> xs, ys;
  for (auto& p : pair.points) {
    xs.push_back(p.bpc);
    ys.push_back(p.score * 100);
  }
  double xlo = xs.empty() ? 0 : *std::min_element(xs.begin(), xs.end());
  double xhi = xs.empty() ? 1 : *std::max_element(xs.begin(), xs.end());
  double ylo = ys.empty() ? 0 : *std::min_element(ys.begin(), ys.end());
  double yhi = ys.empty() ? 100 : *std::max_element(ys.begin(), ys.end());
  // 4% padding so no point sits on the frame.
  double xpad = (xhi - xlo) * 0.04, ypad = (yhi - ylo) * 0.04;
  auto xt = nice_ticks(xlo - xpad, xhi + xpad), yt = nice_ticks(ylo - ypad, yhi + ypad);
  double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();
  auto X = [&](double v) { return left + (v - x0) / (x1 - x0) * pw; };
  auto Y = [&](double v) { return top + ph - (v - y0) / (y1 - y0) * ph; };
  int xd = tick_decimals(xt.size() > 1 ? xt[1] - xt[0] : 1), yd = tick_decimals(yt.size() > 1 ? yt[1] - yt[0] : 1);

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ziq-plot\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, Arial, sans-serif\">\n",
      o.width, o.height);
  s += fmt::format("<title>{}</title>\n", xml_escape(pair.spec.title + ": " + pair.spec.score + " vs " + pair.spec.bpc));
  s += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", o.width, o.height);
  s += fmt::format("<clipPath id=\"{}-area\"><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/></clipPath>\n",
                   o.id, left, top, pw, ph);
  // Grid, ticks and tick labels.
  for (double v : xt) {
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#e6e6e6\"/>\n", X(v), top, top + ph);
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", X(v), top + ph, top + ph + 5);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\" class=\"tick\">{}</text>\n", X(v),
                     top + ph + 18, num(v, xd));
  }
  for (double v : yt) {
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#e6e6e6\"/>\n", left, Y(v), left + pw);
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#333\"/>\n", left - 5, Y(v), left);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\" class=\"tick\">{}</text>\n", left - 8,
                     Y(v) + 4, num(v, yd));
  }
  s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#333\"/>\n", left,
                   top, pw, ph);
  // Titles.
  s += fmt::format("<text x=\"{:.1f}\" y=\"20\" font-size=\"14\" font-weight=\"bold\" text-anchor=\"middle\">{}</text>\n",
                   left + pw / 2, xml_escape(pair.spec.title));
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"middle\">BPC ({})</text>\n", left + pw / 2,
                   H - 10, xml_escape(pair.spec.bpc));
  s += fmt::format("<text x=\"14\" y=\"{0:.1f}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {0:.1f})\">"
                   "score, % ({1})</text>\n", top + ph / 2, xml_escape(pair.spec.score));

  // The fitted line, clipped to the plot area.
  if (pair.fit) {
    const Line& l = pair.fit->line;
    s += fmt::format("<line class=\"fit\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#d62728\" "
                     "stroke-width=\"2\" clip-path=\"url(#{}-area)\"/>\n",
                     X(x0), Y(l.at(x0) * 100), X(x1), Y(l.at(x1) * 100), o.id);
  }

  // Points, then labels placed greedily where they overlap nothing placed so far.
  std::vector<Box> taken;
  for (size_t i = 0; i < xs.size(); ++i) taken.push_back({X(xs[i]) - 4, Y(ys[i]) - 4, X(xs[i]) + 4, Y(ys[i]) + 4});
  const Box area{left, top, left + pw, top + ph};
  for (size_t i = 0; i < xs.size(); ++i) {
    const auto& p = pair.points[i];
    s += fmt::format("<circle class=\"point\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#1f77b4\" fill-opacity=\"0.85\">"
                     "<title>{}: BPC {}, score {}%</title></circle>\n",
                     X(xs[i]), Y(ys[i]), xml_escape(p.model), p.bpc, num(ys[i], 2));
  }
  for (size_t i = 0; i < xs.size(); ++i) {
    const std::string& name = pair.points[i].model;
    double w = 0.6 * 10 * static_cast<double>(name.size()), h = 10;
    double px = X(xs[i]), py = Y(ys[i]);
    struct Place { double x, y; const char* anchor; Box box; };
    std::vector<Place> places = {
        {px + 6, py + 3, "start", {px + 6, py - 7, px + 6 + w, py + 3}},
        {px - 6, py + 3, "end", {px - 6 - w, py - 7, px - 6, py + 3}},
        {px, py - 7, "middle", {px - w / 2, py - 7 - h, px + w / 2, py - 7}},
        {px, py + 15, "middle", {px - w / 2, py + 5, px + w / 2, py + 15}},
        {px + 5, py - 6, "start", {px + 5, py - 6 - h, px + 5 + w, py - 6}},
        {px + 5, py + 14, "start", {px + 5, py + 4, px + 5 + w, py + 14}},
        {px - 5, py - 6, "end", {px - 5 - w, py - 6 - h, px - 5, py - 6}},
        {px - 5, py + 14, "end", {px - 5 - w, py + 4, px - 5, py + 14}},
    };
    auto inside = [&](const Place& pl) {
      return pl.box.x0 >= area.x0 && pl.box.x1 <= area.x1 && pl.box.y0 >= area.y0 && pl.box.y1 <= area.y1;
    };
    const Place* chosen = nullptr;
    for (auto& pl : places) {
      bool free = std::none_of(taken.begin(), taken.end(), [&](const Box& b) { return b.overlaps(pl.box); });
      if (inside(pl) && free) {
        chosen = &pl;
        break;
      }
    }
    // Crowded: overlap rather than drop a name, but stay inside the frame.
    for (auto& pl : places)
      if (!chosen && inside(pl)) chosen = &pl;
    if (!chosen) chosen = &places[0];
    taken.push_back(chosen->box);
    s += fmt::format("<text class=\"label\" x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" fill=\"#333\" text-anchor=\"{}\">{}</text>\n",
                     chosen->x, chosen->y, chosen->anchor, xml_escape(name));
  }

  // The figures, in the corner with the fewest points.
  std::vector<std::string> lines;
  if (pair.fit) {
    lines.push_back(fmt::format("Pearson r = {:.3f}", pair.fit->pearson));
    lines.push_back(fmt::format("RMSE = {:.2f}%", pair.fit->rmse * 100));
    lines.push_back(fmt::format("n = {}", pair.fit->n));
  } else {
    lines.push_back("no fit: " + pair.problem);
  }
  double bw = 0, bh = 16.0 * lines.size() + 8;
  for (auto& l : lines) bw = std::max(bw, 0.6 * 12 * static_cast<double>(l.size()) + 14);
  Box corners[4] = {{left + 6, top + 6, left + 6 + bw, top + 6 + bh},
                    {left + pw - 6 - bw, top + 6, left + pw - 6, top + 6 + bh},
                    {left + 6, top + ph - 6 - bh, left + 6 + bw, top + ph - 6},
                    {left + pw - 6 - bw, top + ph - 6 - bh, left + pw - 6, top + ph - 6}};
  int best = 1, best_count = 1 << 30;
  for (int c : {1, 0, 3, 2}) {
    int count = 0;
    for (size_t i = 0; i < taken.size(); ++i) count += taken[i].overlaps(corners[c]);
    if (count < best_count) best = c, best_count = count;
  }
  const Box& b = corners[best];
  s += fmt::format("<g class=\"stats\"><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#ffffff\" "
                   "fill-opacity=\"0.9\" stroke=\"#999\" rx=\"3\"/>\n", b.x0, b.y0, bw, bh);
  for (size_t i = 0; i < lines.size(); ++i)
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\">{}</text>\n", b.x0 + 7, b.y0 + 18 + 16.0 * i,
                     xml_escape(lines[i]));
  s += "</g>\n</svg>\n";
  return s;
}

std::string scatter_grid_svg(const std::vector<PairResult>& pairs, int columns, const PlotOptions& panel) {
  int cols = std::max(1, std::min(columns, static_cast<int>(pairs.size())));
  int rows = (static_cast<int>(pairs.size()) + cols - 1) / cols;
  std::string s = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n",
                              cols * panel.width, rows * panel.height);
  for (size_t i = 0; i < pairs.size(); ++i) {
    PlotOptions o = panel;
    o.id = fmt::format("{}-{}", panel.id, i);
    std::string one = scatter_svg(pairs[i], o);
    // Nest: position the panel with x/y on its own <svg> element.
    one.insert(4, fmt::format(" x=\"{}\" y=\"{}\"", static_cast<int>(i) % cols * panel.width,
                              static_cast<int>(i) / cols * panel.height));
    s += one;
  }
  return s + "</svg>\n";
}

}  // namespace ziq::analysis
