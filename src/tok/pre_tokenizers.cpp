#include "tok/pre_tokenizers.h"

#include <algorithm>
#include <cctype>

#include "tok/normalizers.h"
#include "tok/regex.h"
#include "tok/unicode.h"

namespace ziq::tok {

namespace {

// GPT-2's pattern, which ByteLevel uses when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Span {
  size_t begin, end;
  bool is_match;
};

}  // namespace

void split_piece(const Piece& piece, const std::vector<std::pair<size_t, size_t>>& matches, bool invert,
                 SplitBehavior behavior, std::vector<Piece>& out) {
  size_t n = piece.text.size();
  if (n == 0) return;
  // The spans that cover the piece: matches and the text between them.
  thread_local std::vector<Span> spans, merged;  // scratch, reused across calls
  spans.clear();
  merged.clear();
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (b > prev) spans.push_back({prev, b, invert});
    spans.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < n) spans.push_back({prev, n, invert});

  const std::vector<Span>* result = &merged;
  switch (behavior) {
    case SplitBehavior::removed:
      for (const Span& s : spans)
        if (!s.is_match) merged.push_back(s);
      break;
    case SplitBehavior::isolated:
      result = &spans;
      break;
    case SplitBehavior::merged_with_previous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !merged.empty()) merged.back().end = s.end;
        else merged.push_back(s);
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool next_match = false;
      for (size_t k = spans.size(); k-- > 0;) {
        const Span& s = spans[k];
        if (s.is_match && !next_match && !merged.empty()) merged.back().begin = s.begin;
        else merged.push_back(s);
        next_match = s.is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    }
    case SplitBehavior::contiguous:
      for (const Span& s : spans) {
        if (!merged.empty() && merged.back().is_match == s.is_match) merged.back().end = s.end;
        else merged.push_back(s);
      }
      break;
  }
  for (const Span& s : *result) {
    if (s.end > s.begin) out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.at_start && s.begin == 0});
  }
}

namespace {

// Every character for which `pred` holds is one match.
template <typename Pred>
void char_matches(std::string_view text, Pred pred, std::vector<std::pair<size_t, size_t>>& out) {
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    char32_t c = utf8_next(text, i);
    if (pred(c)) out.emplace_back(start, i);
  }
}

void literal_matches(std::string_view text, std::string_view lit, std::vector<std::pair<size_t, size_t>>& out) {
  if (lit.empty()) return;
  for (size_t p = text.find(lit); p != std::string_view::npos; p = text.find(lit, p + lit.size()))
    out.emplace_back(p, p + lit.size());
}

// Applies a match finder and a behaviour to every piece.
template <typename Find>
void split_all(Pieces& pieces, bool invert, SplitBehavior behavior, Find find) {
  std::vector<Piece> out;
  out.reserve(pieces.list.size() * 4);
  std::vector<std::pair<size_t, size_t>> matches;
  for (const Piece& p : pieces.list) {
    matches.clear();
    find(p.text, matches);
    split_piece(p, matches, invert, behavior, out);
  }
  pieces.list.swap(out);
}

SplitBehavior parse_behavior(const Json& j, const char* key, const JsonPlace& p, SplitBehavior fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) field_error(p.at(key), "expected a string");
  std::string s;
  for (char c : it->get<std::string>())
    if (c != '_') s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (s == "removed") return SplitBehavior::removed;
  if (s == "isolated") return SplitBehavior::isolated;
  if (s == "mergedwithprevious") return SplitBehavior::merged_with_previous;
  if (s == "mergedwithnext") return SplitBehavior::merged_with_next;
  if (s == "contiguous") return SplitBehavior::contiguous;
  field_error(p.at(key), "unknown split behavior \"" + it->get<std::string>() + "\"");
}

class Split : public PreTokenizer {
 public:
  Split(std::string literal, std::unique_ptr<Regex> re, SplitBehavior b, bool invert)
      : literal_(std::move(literal)), re_(std::move(re)), behavior_(b), invert_(invert) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_all(pieces, invert_, behavior_, [this](std::string_view t, auto& m) {
      if (re_) re_->find_all(t, m);
      else literal_matches(t, literal_, m);
    });
  }

 private:
  std::string literal_;
  std::unique_ptr<Regex> re_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex, const JsonPlace& p) : add_prefix_space_(add_prefix_space) {
    if (use_regex) re_ = std::make_unique<Regex>(kGpt2Pattern, p.str());
  }
  void pre_tokenize(Pieces& pieces) const override {
    if (add_prefix_space_) {
      for (Piece& piece : pieces.list)
        if (!piece.text.empty() && piece.text[0] != ' ') piece.text = pieces.own(" " + std::string(piece.text));
    }
    if (re_) split_all(pieces, false, SplitBehavior::isolated, [this](std::string_view t, auto& m) { re_->find_all(t, m); });
  }
  bool byte_level() const override { return true; }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> re_;
};

class Metaspace : public PreTokenizer {
 public:
  enum class Prepend { always, first, never };
  Metaspace(std::string replacement, Prepend scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void pre_tokenize(Pieces& pieces) const override {
    std::vector<Piece> out;
    std::vector<std::pair<size_t, size_t>> matches;
    for (const Piece& p : pieces.list) {
      std::string s;
      s.reserve(p.text.size() + replacement_.size());
      // Like NormalizedString::prepend, nothing is prepended to an empty piece.
      bool prepend = !p.text.empty() && (scheme_ == Prepend::always || (scheme_ == Prepend::first && p.at_start));
      if (prepend && !(p.text.starts_with(' ') || p.text.starts_with(replacement_))) s += replacement_;
      for (char c : p.text) {
        if (c == ' ') s += replacement_;
        else s.push_back(c);
      }
      Piece np{pieces.own(std::move(s)), p.at_start};
      if (split_) {
        matches.clear();
        literal_matches(np.text, replacement_, matches);
        split_piece(np, matches, false, SplitBehavior::merged_with_next, out);
      } else {
        if (!np.text.empty()) out.push_back(np);
      }
    }
    pieces.list.swap(out);
  }

 private:
  std::string replacement_;
  Prepend scheme_;
  bool split_;
};

class CharSplit : public PreTokenizer {
 public:
  using Pred = bool (*)(char32_t);
  CharSplit(Pred pred, SplitBehavior b) : pred_(pred), behavior_(b) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_all(pieces, false, behavior_, [this](std::string_view t, auto& m) { char_matches(t, pred_, m); });
  }

 private:
  Pred pred_;
  SplitBehavior behavior_;
};

// Whitespace: keeps the matches of \w+|[^\w\s]+ and drops the rest. Rust's Unicode \w is
// Alphabetic, marks, decimal digits, connector punctuation and ZWNJ/ZWJ (PCRE2's is narrower and
// takes every number), so the class is spelled out.
constexpr const char* kRustWord = R"(\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D})";
class WhitespacePattern : public PreTokenizer {
 public:
  explicit WhitespacePattern(const JsonPlace& p)
      : re_("[" + std::string(kRustWord) + "]+|[^" + kRustWord + R"(\s]+)", p.str()) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_all(pieces, true, SplitBehavior::removed, [this](std::string_view t, auto& m) { re_.find_all(t, m); });
  }

 private:
  Regex re_;
};

class Sequence : public PreTokenizer {
 public:
  Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts, const JsonPlace& p) : parts_(std::move(parts)) {
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (parts_[i]->byte_level() && i + 1 != parts_.size())
        field_error(p, "a ByteLevel pre-tokenizer followed by others is not supported (ziq needs it last)");
    }
  }
  void pre_tokenize(Pieces& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }
  bool byte_level() const override { return !parts_.empty() && parts_.back()->byte_level(); }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

bool is_punct(char32_t c) { return is_punctuation(c); }
bool is_ws(char32_t c) { return is_whitespace(c); }
bool is_num(char32_t c) { return is_numeric(c); }

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const JsonPlace& p) {
  if (j.is_null()) return nullptr;
  std::string type = component_type(j, p);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(opt_bool(j, "add_prefix_space", p, true), opt_bool(j, "use_regex", p, true), p);
  if (type == "Split") {
    std::string literal;
    std::unique_ptr<Regex> re;
    read_pattern(j, p, literal, re);
    if (!j.contains("behavior")) field_error(p.at("behavior"), "missing");
    return std::make_unique<Split>(literal, std::move(re), parse_behavior(j, "behavior", p, SplitBehavior::isolated),
                                   opt_bool(j, "invert", p, false));
  }
  if (type == "Metaspace") {
    std::string rep = opt_string(j, "replacement", p, "\u2581");
    Metaspace::Prepend scheme = opt_bool(j, "add_prefix_space", p, true) ? Metaspace::Prepend::always : Metaspace::Prepend::never;
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      std::string s = get_string(j, "prepend_scheme", p);
      if (s == "always") scheme = Metaspace::Prepend::always;
      else if (s == "first") scheme = Metaspace::Prepend::first;
      else if (s == "never") scheme = Metaspace::Prepend::never;
      else field_error(p.at("prepend_scheme"), "expected always, first or never, got \"" + s + "\"");
    }
    return std::make_unique<Metaspace>(rep, scheme, opt_bool(j, "split", p, true));
  }
  if (type == "Digits")
    return std::make_unique<CharSplit>(&is_num, opt_bool(j, "individual_digits", p, false) ? SplitBehavior::isolated
                                                                                          : SplitBehavior::contiguous);
  if (type == "Punctuation")
    return std::make_unique<CharSplit>(&is_punct, parse_behavior(j, "behavior", p, SplitBehavior::isolated));
  if (type == "WhitespaceSplit") return std::make_unique<CharSplit>(&is_ws, SplitBehavior::removed);
  if (type == "Whitespace") return std::make_unique<WhitespacePattern>(p);
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    parts.push_back(std::make_unique<CharSplit>(&is_ws, SplitBehavior::removed));
    parts.push_back(std::make_unique<CharSplit>(&is_punct, SplitBehavior::isolated));
    return std::make_unique<Sequence>(std::move(parts), p);
  }
  if (type == "Sequence") {
    const Json& arr = require_array(j, "pretokenizers", p);
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto t = make_pre_tokenizer(arr[i], p.at("pretokenizers").at(i));
      if (t) parts.push_back(std::move(t));
    }
    return std::make_unique<Sequence>(std::move(parts), p);
  }
  unknown_type(p, "pre_tokenizer", type);
}

}  // namespace ziq::tok
