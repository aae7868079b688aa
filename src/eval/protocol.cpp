// Scoring protocols (see protocol.h and DESIGN.md, "The paper's protocol, exactly").
#include "eval/protocol.h"

#include <fmt/format.h>

#include "core/error.h"

namespace ziq::eval {
namespace {

// The paper's sliding windows over one stream of n >= B tokens: W = floor((n - B) / s) + 1
// windows of B = C + 1 tokens starting at w * s; window 0 scores 1..B-1, the others their last s
// targets. Returns the end of the last window (tokens from there on are not yet scored).
int64_t add_strided_windows(const ProtocolParams& p, int64_t stream, int64_t n,
                            std::vector<Window>& out) {
  const int64_t B = p.context + 1;
  const int64_t W = (n - B) / p.stride + 1;
  for (int64_t w = 0; w < W; ++w)
    out.push_back({stream, w * p.stride, B, w == 0 ? 1 : B - p.stride});
  return (W - 1) * p.stride + B;
}

// "full" on one stream: the paper's windows, then (if a tail is left) one window of B tokens
// ending at the stream's end that scores only the tail. The tail is shorter than s, so each of its
// tokens sees at least as much context as the strided windows give (>= C - s + 1).
// A stream shorter than B is one window over all of it.
void add_full_windows(const ProtocolParams& p, int64_t stream, int64_t n, std::vector<Window>& out) {
  const int64_t B = p.context + 1;
  if (n < 2) return;  // the first token of a stream is never scored: nothing to do
  if (n < B) {
    out.push_back({stream, 0, n, 1});
    return;
  }
  const int64_t end = add_strided_windows(p, stream, n, out);
  const int64_t tail = n - end;
  if (tail > 0) out.push_back({stream, n - B, B, B - tail});
}

}  // namespace

ProtocolKind parse_protocol(const std::string& name) {
  if (name == "paper") return ProtocolKind::paper;
  if (name == "full") return ProtocolKind::full;
  if (name == "doc") return ProtocolKind::doc;
  usage_error("unknown protocol '{}' (expected paper, full or doc)", name);
}

std::string protocol_name(ProtocolKind kind) {
  switch (kind) {
    case ProtocolKind::paper: return "paper";
    case ProtocolKind::full: return "full";
    case ProtocolKind::doc: return "doc";
  }
  return "?";
}

void validate(const ProtocolParams& params) {
  if (params.context < 1) usage_error("--context must be positive (got {})", params.context);
  if (params.stride < 1) usage_error("--stride must be positive (got {})", params.stride);
  if (params.context > kMaxContext)
    usage_error("--context {} is beyond what ziq runs (at most {} tokens per window)", params.context, kMaxContext);
  if (params.stride > params.context)
    usage_error("--stride ({}) must not exceed --context ({}): windows would leave tokens unscored",
                params.stride, params.context);
}

WindowPlan plan_windows(const ProtocolParams& params, const std::vector<int64_t>& doc_token_counts) {
  validate(params);
  for (size_t i = 0; i < doc_token_counts.size(); ++i)
    if (doc_token_counts[i] < 0)
      internal_error("document {} has a negative token count ({})", i, doc_token_counts[i]);

  WindowPlan plan;
  if (params.kind == ProtocolKind::doc) {
    plan.stream_lengths = doc_token_counts;
  } else {
    int64_t n = 0;
    for (int64_t c : doc_token_counts) n += c;
    plan.stream_lengths = {n};
  }

  const int64_t B = params.context + 1;
  switch (params.kind) {
    case ProtocolKind::paper: {
      const int64_t n = plan.stream_lengths[0];
      if (n >= B) {
        const int64_t end = add_strided_windows(params, 0, n, plan.windows);
        if (end < n)
          plan.notes.push_back(fmt::format(
              "paper protocol: the last {} tokens of the stream are not scored (as in the reference)",
              n - end));
      } else {
        // The reference has no window here and gives no number; we score one shorter window.
        plan.short_corpus = true;
        if (n >= 2) plan.windows.push_back({0, 0, n, 1});
        plan.notes.push_back(fmt::format(
            "paper protocol: the stream has {} tokens, fewer than one window of {}; the reference "
            "scores nothing here, ziq scores one shorter window over the whole stream ({} targets)",
            n, B, n >= 2 ? n - 1 : 0));
      }
      break;
    }
    case ProtocolKind::full:
      add_full_windows(params, 0, plan.stream_lengths[0], plan.windows);
      break;
    case ProtocolKind::doc:
      for (size_t d = 0; d < plan.stream_lengths.size(); ++d)
        add_full_windows(params, static_cast<int64_t>(d), plan.stream_lengths[d], plan.windows);
      break;
  }
  for (const Window& w : plan.windows) plan.scored_tokens += w.length - w.score_begin;
  return plan;
}

}  // namespace ziq::eval
