// `ziq windows`: the scoring plan of a protocol for given document token counts — which windows a
// model would run and which targets each scores. Lets users see what a protocol scores, and lets
// tests compare the plan with an independent transcription of the rules.
#include <charconv>

#include "cli/command.h"
#include "cli/output.h"
#include "core/error.h"
#include "eval/protocol.h"

namespace ziq::cli {
namespace {

// "5,100,7" -> {5, 100, 7}; "" -> {} (a corpus with no documents).
std::vector<int64_t> parse_lengths(const std::string& text) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    int64_t v = -1;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || v < 0)
      usage_error("--lengths: item {} ('{}') is not a non-negative integer", out.size() + 1, item);
    out.push_back(v);
    pos = comma + 1;
    if (comma + 1 == text.size()) usage_error("--lengths: trailing comma");
  }
  return out;
}

void setup(CLI::App& sub, const GlobalOptions& global) {
  struct Opts {
    std::string protocol = "paper", lengths;
    int64_t context = 1900, stride = 512;
  };
  auto opts = std::make_shared<Opts>();
  sub.add_option("--protocol", opts->protocol, "paper | full | doc")->capture_default_str();
  sub.add_option("--context", opts->context, "Context window C (windows hold C + 1 tokens)")
      ->capture_default_str();
  sub.add_option("--stride", opts->stride, "Stride s between windows")->capture_default_str();
  sub.add_option("--lengths", opts->lengths,
                 "Token counts of the documents, comma-separated, in corpus order (\"\" for none)")
      ->required();
  sub.callback([opts, &global] {
    eval::ProtocolParams params{eval::parse_protocol(opts->protocol), opts->context, opts->stride};
    eval::WindowPlan plan = eval::plan_windows(params, parse_lengths(opts->lengths));
    if (global.json) {
      nlohmann::json windows = nlohmann::json::array();
      for (const auto& w : plan.windows)
        windows.push_back({{"stream", w.stream}, {"start", w.start}, {"length", w.length},
                           {"score_begin", w.score_begin}});
      print_json(nlohmann::json{{"protocol", eval::protocol_name(params.kind)},
                  {"context", params.context},
                  {"stride", params.stride},
                  {"stream_lengths", plan.stream_lengths},
                  {"windows", windows},
                  {"scored_tokens", plan.scored_tokens},
                  {"short_corpus", plan.short_corpus},
                  {"notes", plan.notes}});
      return;
    }
    int64_t total = 0;
    for (int64_t n : plan.stream_lengths) total += n;
    std::printf("protocol %s, context %lld, stride %lld: %zu streams, %lld tokens, %zu windows, "
                "%lld tokens scored\n",
                eval::protocol_name(params.kind).c_str(), (long long)params.context,
                (long long)params.stride, plan.stream_lengths.size(), (long long)total,
                plan.windows.size(), (long long)plan.scored_tokens);
    if (!global.quiet)
      for (const auto& note : plan.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    // Positions are offsets in the stream; "scored" is the half-open range of targets.
    Table t({"stream", "window start", "window end", "scored from", "scored to", "min context"});
    for (const auto& w : plan.windows)
      t.add({std::to_string(w.stream), std::to_string(w.start), std::to_string(w.start + w.length),
             std::to_string(w.start + w.score_begin), std::to_string(w.start + w.length),
             std::to_string(w.score_begin)});
    t.print();
  });
}

}  // namespace
ZIQ_COMMAND("windows", "Show which windows a scoring protocol runs and which tokens it scores", setup);
}  // namespace ziq::cli
