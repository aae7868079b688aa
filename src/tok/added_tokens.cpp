#include "tok/added_tokens.h"

#include <algorithm>

#include "tok/normalizers.h"
#include "tok/unicode.h"

namespace ziq::tok {

void AddedVocabulary::add(AddedToken t) {
  if (auto it = by_content_.find(t.content); it != by_content_.end()) {
    by_id_.erase(tokens_[it->second].id);
    tokens_[it->second] = t;
    by_id_[t.id] = it->second;
    return;
  }
  by_content_[t.content] = tokens_.size();
  by_id_[t.id] = tokens_.size();
  tokens_.push_back(std::move(t));
}

const AddedToken* AddedVocabulary::find(TokenId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<TokenId> AddedVocabulary::find(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

void AddedVocabulary::Trie::build(const std::vector<std::pair<std::string, int32_t>>& entries) {
  bytes = ByteTrie();
  first_byte.assign(256, 0);
  for (const auto& [s, token] : entries) {
    if (s.empty()) continue;
    first_byte[static_cast<uint8_t>(s[0])] = 1;
    bytes.value(bytes.insert(s)) = token;
  }
}

std::pair<int32_t, size_t> AddedVocabulary::Trie::longest_at(std::string_view text, size_t i) const {
  int32_t best = -1;
  size_t best_end = 0;
  int32_t at = ByteTrie::kRoot;
  for (size_t k = i; k < text.size(); ++k) {
    at = bytes.child(at, static_cast<uint8_t>(text[k]));
    if (at < 0) break;
    if (bytes.value(at) >= 0) {
      best = bytes.value(at);
      best_end = k + 1;
    }
  }
  return {best, best_end};
}

void AddedVocabulary::finalize(const Normalizer* normalizer) {
  std::vector<std::pair<std::string, int32_t>> raw, norm;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    if (t.normalized && normalizer) {
      std::string s = t.content;
      normalizer->normalize(s);
      norm.emplace_back(std::move(s), int32_t(i));
    } else if (t.normalized) {
      norm.emplace_back(t.content, int32_t(i));
    } else {
      raw.emplace_back(t.content, int32_t(i));
    }
  }
  raw_.build(raw);
  normalized_.build(norm);
}

namespace {
bool is_word_char(char32_t c) { return c == '_' || is_alphabetic_or_numeric(c); }
}  // namespace

void AddedVocabulary::split(std::string_view text, bool normalized_pass, std::vector<Segment>& out) const {
  const Trie& trie = normalized_pass ? normalized_ : raw_;
  size_t emitted = 0;  // text before this offset has been emitted
  if (!trie.empty()) {
    size_t i = 0;
    while (i < text.size()) {
      if (!trie.first_byte[static_cast<uint8_t>(text[i])]) {
        ++i;
        continue;
      }
      auto [index, end] = trie.longest_at(text, i);
      if (index < 0) {
        ++i;
        continue;
      }
      const AddedToken& t = tokens_[size_t(index)];
      size_t start = i;
      if (t.single_word) {
        size_t a = start, b = end;
        bool left_ok = start == 0 || !is_word_char(utf8_prev(text, a));
        bool right_ok = end == text.size() || !is_word_char(utf8_next(text, b));
        if (!left_ok || !right_ok) {
          i = end;
          continue;
        }
      }
      if (t.lstrip) {
        while (start > emitted) {
          size_t a = start;
          if (!is_whitespace(utf8_prev(text, a))) break;
          start = a;
        }
      }
      if (t.rstrip) {
        while (end < text.size()) {
          size_t b = end;
          if (!is_whitespace(utf8_next(text, b))) break;
          end = b;
        }
      }
      if (start > emitted) out.push_back({text.substr(emitted, start - emitted), -1, emitted});
      out.push_back({text.substr(start, end - start), t.id, start});
      emitted = i = end;
    }
  }
  if (emitted < text.size() || text.empty()) out.push_back({text.substr(emitted), -1, emitted});
}

}  // namespace ziq::tok
