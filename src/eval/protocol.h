// Scoring protocols: from the token counts of the documents, which windows a model runs and which
// positions of each window are scored. Independent of any model or tokenizer.
//
// The token stream S is the concatenation of documents (paper, full) or each document alone (doc).
// A window is a contiguous slice S[start, start+length) fed to the model; it scores the targets
// S[start+j] for j in [score_begin, length), each predicted from S[start, start+j).
//
// paper: DESIGN.md's rules token for token (W = floor((N-B)/s)+1 windows of B = C+1 tokens at w*s;
//        window 0 scores 1..B-1, window w >= 1 its last s targets; the tail is never scored). A
//        stream shorter than B gets one window over all of it (short_corpus, with a note).
// full:  the paper's windows, plus one last window of B tokens ending at the end of the stream that
//        scores only the tail left over (fewer than s tokens, so each has context >= C - s + 1).
//        Every token after the stream's first is scored exactly once.
// doc:   each document is its own stream, windowed as in "full".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ziq::eval {

enum class ProtocolKind { paper, full, doc };

struct ProtocolParams {
  ProtocolKind kind = ProtocolKind::paper;
  int64_t context = 1900;  // C; windows hold C + 1 tokens
  int64_t stride = 512;    // s
};

struct Window {
  int64_t stream = 0;       // which stream (always 0 for paper/full; the document index for doc)
  int64_t start = 0;        // first token of the window, as an offset in that stream
  int64_t length = 0;       // tokens fed to the model (<= context + 1)
  int64_t score_begin = 0;  // first scored position inside the window (>= 1)
};

struct WindowPlan {
  std::vector<int64_t> stream_lengths;  // tokens in each stream
  std::vector<Window> windows;
  int64_t scored_tokens = 0;
  bool short_corpus = false;  // paper: the stream is shorter than one window; one shorter window scored
  std::vector<std::string> notes;  // human-readable remarks (e.g. the short-corpus case)
};

ProtocolKind parse_protocol(const std::string& name);  // usage_error on unknown names
std::string protocol_name(ProtocolKind kind);

// Longer windows than any model runs; the bound keeps window arithmetic far from int64 overflow.
inline constexpr int64_t kMaxContext = int64_t{1} << 30;

// usage_error unless 1 <= stride <= context <= kMaxContext.
void validate(const ProtocolParams& params);

// doc_token_counts: tokens of each non-empty document, in corpus order.
WindowPlan plan_windows(const ProtocolParams& params, const std::vector<int64_t>& doc_token_counts);

}  // namespace ziq::eval
