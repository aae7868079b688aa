#include "tok/decoders.h"

#include "tok/byte_level.h"
#include "tok/normalizers.h"
#include "tok/unicode.h"

namespace ziq::tok {

namespace {

class ByteLevelDecoder : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      // A token with a character outside the alphabet (an added token) is kept as written.
      if (auto raw = byte_level_decode(t)) bytes += *raw;
      else bytes += t;
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string rep, bool strip_first) : rep_(std::move(rep)), strip_first_(strip_first) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (size_t k = 0; k < t.size();) {
        if (!rep_.empty() && t.compare(k, rep_.size(), rep_) == 0) {
          if (!(i == 0 && strip_first_)) out.push_back(' ');
          k += rep_.size();
        } else {
          out.push_back(t[k++]);
        }
      }
      tokens[i].swap(out);
    }
  }

 private:
  std::string rep_;
  bool strip_first_;
};

class ByteFallbackDecoder : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t count = 0;
    auto flush = [&] {
      if (count == 0) return;
      if (utf8_invalid_at(bytes) == std::string::npos) {
        out.push_back(bytes);
      } else {
        for (size_t k = 0; k < count; ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      bytes.clear();
      count = 0;
    };
    for (auto& t : tokens) {
      int v = byte_token(t);
      if (v >= 0) {
        bytes.push_back(static_cast<char>(v));
        ++count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }

 private:
  static int byte_token(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    int v = 0;
    for (int k = 3; k < 5; ++k) {
      char c = t[size_t(k)];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }
};

class Fuse : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Strip: removes up to `start` leading and `stop` trailing occurrences of one character per token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode(std::vector<std::string>& tokens) const override {
    if (content_.empty()) return;
    for (auto& t : tokens) {
      size_t b = 0, e = t.size();
      for (size_t k = 0; k < start_ && e - b >= content_.size() && t.compare(b, content_.size(), content_) == 0; ++k)
        b += content_.size();
      for (size_t k = 0; k < stop_ && e - b >= content_.size() && t.compare(e - content_.size(), content_.size(), content_) == 0; ++k)
        e -= content_.size();
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  explicit ReplaceDecoder(std::unique_ptr<Normalizer> replace) : replace_(std::move(replace)) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) replace_->normalize(t);
  }

 private:
  std::unique_ptr<Normalizer> replace_;  // the Replace normalizer does exactly this per token
};

class Sequence : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (const auto& d : parts_) d->decode(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const Json& j, const JsonPlace& p) {
  if (j.is_null()) return nullptr;
  std::string type = component_type(j, p);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    bool strip_first = opt_bool(j, "add_prefix_space", p, true);
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null())
      strip_first = get_string(j, "prepend_scheme", p) != "never";
    return std::make_unique<MetaspaceDecoder>(opt_string(j, "replacement", p, "\u2581"), strip_first);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Strip") {
    int64_t start = opt_int(j, "start", p, 0), stop = opt_int(j, "stop", p, 0);
    if (start < 0 || stop < 0) field_error(p, "start and stop must not be negative");
    return std::make_unique<StripDecoder>(get_string(j, "content", p), size_t(start), size_t(stop));
  }
  if (type == "Replace") return std::make_unique<ReplaceDecoder>(make_normalizer(j, p));
  if (type == "Sequence") {
    const Json& arr = require_array(j, "decoders", p);
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t k = 0; k < arr.size(); ++k)
      if (auto d = make_decoder(arr[k], p.at("decoders").at(k))) parts.push_back(std::move(d));
    return std::make_unique<Sequence>(std::move(parts));
  }
  unknown_type(p, "decoder", type);
}

}  // namespace ziq::tok
