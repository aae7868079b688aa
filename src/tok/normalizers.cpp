#include "tok/normalizers.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "tok/regex.h"
#include "tok/unicode.h"

namespace ziq::tok {

namespace {

// NFC / NFD / NFKC / NFKD through utf8proc. ASCII text is already normalized under all four
// forms and no ASCII character combines with what precedes it, so only non-ASCII runs (with
// the one ASCII character before each, which may compose with a following mark) are handed to
// utf8proc; everything else is copied.
class UnicodeForm : public Normalizer {
 public:
  explicit UnicodeForm(int options) : options_(options) {}
  void normalize(std::string& s) const override {
    size_t first = 0;
    while (first < s.size() && static_cast<uint8_t>(s[first]) < 0x80) ++first;
    if (first == s.size()) return;
    std::string out;
    out.reserve(s.size() + s.size() / 8);
    size_t copied = 0, i = first;
    while (i < s.size()) {
      if (static_cast<uint8_t>(s[i]) < 0x80) { ++i; continue; }
      size_t start = i > copied ? i - 1 : i;  // take the preceding ASCII character along
      size_t end = i;
      while (end < s.size() && static_cast<uint8_t>(s[end]) >= 0x80) ++end;
      out.append(s, copied, start - copied);
      append_normalized(out, std::string_view(s).substr(start, end - start));
      copied = i = end;
    }
    out.append(s, copied, std::string::npos);
    s.swap(out);
  }

 private:
  void append_normalized(std::string& out, std::string_view chunk) const {
    utf8proc_uint8_t* dst = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(chunk.data()),
                          static_cast<utf8proc_ssize_t>(chunk.size()), &dst,
                          static_cast<utf8proc_option_t>(options_));
    if (n < 0) internal_error("utf8proc: {}", utf8proc_errmsg(n));
    out.append(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
    std::free(dst);
  }
  int options_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
      auto b = static_cast<uint8_t>(s[i]);
      if (b < 0x80) {
        out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b));
        ++i;
        continue;
      }
      char32_t c = utf8_next(s, i);
      if (c == 0x130) {  // Rust's full lowercase mapping: İ -> i + combining dot above
        out += "i\xCC\x87";
        continue;
      }
      utf8_append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
    s.swap(out);
  }
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& s) const override {
    size_t b = 0, e = s.size();
    if (left_) {
      while (b < e) {
        size_t j = b;
        if (!is_whitespace(utf8_next(s, j))) break;
        b = j;
      }
    }
    if (right_) {
      while (e > b) {
        size_t j = e;
        if (!is_whitespace(utf8_prev(s, j))) break;
        e = j;
      }
    }
    s = s.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

class StripAccents : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
      size_t start = i;
      char32_t c = utf8_next(s, i);
      if (!is_mark(c)) out.append(s, start, i - start);
    }
    s.swap(out);
  }
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : prefix_(std::move(p)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class Append : public Normalizer {
 public:
  explicit Append(std::string p) : suffix_(std::move(p)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s += suffix_;
  }

 private:
  std::string suffix_;
};

// Replace: every non-overlapping occurrence of a string or a regex, left to right.
class Replace : public Normalizer {
 public:
  Replace(std::string literal, std::unique_ptr<Regex> re, std::string content)
      : literal_(std::move(literal)), re_(std::move(re)), content_(std::move(content)) {}
  void normalize(std::string& s) const override {
    std::vector<std::pair<size_t, size_t>> hits;
    if (re_) {
      re_->find_all(s, hits);
    } else {
      if (literal_.empty()) return;
      for (size_t p = s.find(literal_); p != std::string::npos; p = s.find(literal_, p + literal_.size()))
        hits.emplace_back(p, p + literal_.size());
    }
    if (hits.empty()) return;
    std::string out;
    out.reserve(s.size() + hits.size() * content_.size());
    size_t at = 0;
    for (auto [b, e] : hits) {
      out.append(s, at, b - at);
      out += content_;
      at = e;
    }
    out.append(s, at, std::string::npos);
    s.swap(out);
  }

 private:
  std::string literal_;
  std::unique_ptr<Regex> re_;
  std::string content_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& s) const override {
    for (const auto& p : parts_) p->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

// A Split or Replace "pattern": {"String": "..."} or {"Regex": "..."}.
void read_pattern(const Json& j, const JsonPlace& p, std::string& literal, std::unique_ptr<Regex>& re) {
  const Json& pat = require(j, "pattern", p);
  JsonPlace pp = p.at("pattern");
  if (pat.is_object() && pat.contains("String")) {
    literal = get_string(pat, "String", pp);
  } else if (pat.is_object() && pat.contains("Regex")) {
    re = std::make_unique<Regex>(get_string(pat, "Regex", pp), pp.str());
  } else {
    field_error(pp, "expected {\"String\": ...} or {\"Regex\": ...}");
  }
}

std::unique_ptr<Normalizer> make_normalizer(const Json& j, const JsonPlace& p) {
  if (j.is_null()) return nullptr;
  std::string type = component_type(j, p);
  if (type == "NFC") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (type == "NFD") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  if (type == "NFKC") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  if (type == "NFKD") return std::make_unique<UnicodeForm>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip")
    return std::make_unique<Strip>(opt_bool(j, "strip_left", p, true), opt_bool(j, "strip_right", p, true));
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Prepend") return std::make_unique<Prepend>(get_string(j, "prepend", p));
  if (type == "Append") return std::make_unique<Append>(get_string(j, "append", p));
  if (type == "Replace") {
    std::string literal;
    std::unique_ptr<Regex> re;
    read_pattern(j, p, literal, re);
    return std::make_unique<Replace>(literal, std::move(re), get_string(j, "content", p));
  }
  if (type == "Sequence") {
    const Json& arr = require_array(j, "normalizers", p);
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto n = make_normalizer(arr[i], p.at("normalizers").at(i));
      if (n) parts.push_back(std::move(n));
    }
    return std::make_unique<Sequence>(std::move(parts));
  }
  unknown_type(p, "normalizer", type);
}

}  // namespace ziq::tok
