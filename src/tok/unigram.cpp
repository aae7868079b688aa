#include "tok/unigram.h"

#include <algorithm>
#include <limits>

#include "tok/unicode.h"

namespace ziq::tok {

UnigramModel::UnigramModel(const Json& model, const JsonPlace& p) : where_(p.file) {
  const Json& vocab = require_array(model, "vocab", p);
  JsonPlace vp = p.at("vocab");
  pieces_.reserve(vocab.size());
  scores_.reserve(vocab.size());
  min_score_ = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < vocab.size(); ++k) {
    const Json& e = vocab[k];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
      field_error(vp.at(k), "expected [token, score]");
    std::string piece = e[0].get<std::string>();
    double score = e[1].get<double>();
    ids_.emplace(piece, TokenId(k));
    pieces_.push_back(piece);
    scores_.push_back(score);
    min_score_ = std::min(min_score_, score);
    if (!piece.empty()) {
      int32_t& id = trie_.value(trie_.insert(piece));
      if (id < 0) id = TokenId(k);  // a repeated piece keeps its first id
    }
  }
  int64_t unk = opt_int(model, "unk_id", p, -1);
  if (unk >= int64_t(pieces_.size()) || (model.contains("unk_id") && !model["unk_id"].is_null() && unk < 0))
    field_error(p.at("unk_id"), "id " + std::to_string(unk) + " out of range");
  unk_id_ = TokenId(unk);
  byte_fallback_ = opt_bool(model, "byte_fallback", p, false);
}

std::optional<TokenId> UnigramModel::token_to_id(std::string_view token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::string* UnigramModel::id_to_token(TokenId id) const {
  return id >= 0 && size_t(id) < pieces_.size() ? &pieces_[size_t(id)] : nullptr;
}

void UnigramModel::encode(std::string_view s, std::vector<TokenId>& out) const {
  const size_t n = s.size();
  if (n == 0) return;
  struct Best {
    double score = 0;
    int64_t start = -1;  // -1: not reached yet
    TokenId id = -1;
  };
  std::vector<Best> best(n + 1);
  const double unk_score = min_score_ - 10.0;
  // Forward pass: the best path to every end offset; the first candidate wins ties.
  for (size_t start = 0; start < n;) {
    const double here = best[start].score;
    const size_t char_len = std::min(utf8_len(static_cast<uint8_t>(s[start])), n - start);
    bool single_char_token = false;
    int32_t at = ByteTrie::kRoot;
    for (size_t k = start; k < n; ++k) {
      at = trie_.child(at, static_cast<uint8_t>(s[k]));
      if (at < 0) break;
      TokenId id = trie_.value(at);
      if (id < 0) continue;
      size_t end = k + 1;
      double cand = scores_[size_t(id)] + here;
      if (best[end].start < 0 || cand > best[end].score) best[end] = {cand, int64_t(start), id};
      if (end - start == char_len) single_char_token = true;
    }
    if (!single_char_token) {
      if (unk_id_ < 0)
        input_error("{}: model: text has a character that no Unigram token covers and the model has no unk_id", where_);
      size_t end = start + char_len;
      double cand = unk_score + here;
      if (best[end].start < 0 || cand > best[end].score) best[end] = {cand, int64_t(start), unk_id_};
    }
    start += char_len;
  }
  // Backward pass: the pieces of the best path, consecutive unks fused into one span.
  std::vector<std::pair<size_t, size_t>> spans;  // [begin, end), in reverse order
  std::vector<bool> unk_span;
  for (size_t end = n; end > 0;) {
    const Best& b = best[end];
    size_t start = size_t(b.start);
    bool is_unk = b.id == unk_id_;
    if (is_unk && !spans.empty() && unk_span.back()) spans.back().first = start;
    else {
      spans.emplace_back(start, end);
      unk_span.push_back(is_unk);
    }
    end = start;
  }
  for (size_t k = spans.size(); k-- > 0;) {
    std::string_view piece = s.substr(spans[k].first, spans[k].second - spans[k].first);
    if (auto it = ids_.find(piece); it != ids_.end()) {
      out.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      std::vector<TokenId> bytes;
      for (char c : piece) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", static_cast<uint8_t>(c));
        auto it = ids_.find(std::string_view(name));
        if (it == ids_.end()) break;
        bytes.push_back(it->second);
      }
      if (bytes.size() == piece.size()) {
        out.insert(out.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    out.push_back(unk_id_);
  }
}

}  // namespace ziq::tok
