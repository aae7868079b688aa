#include "tok/post_processors.h"

#include <unordered_map>

namespace ziq::tok {

namespace {

TokenId checked_id(const Json& v, const JsonPlace& p, size_t limit) {
  if (!v.is_number_integer()) field_error(p, "expected an integer id");
  int64_t id = v.get<int64_t>();
  if (id < 0 || size_t(id) >= limit) field_error(p, "id " + std::to_string(id) + " out of range");
  return TokenId(id);
}

// A template's single-sequence form: ids before and after the sequence.
class Wrap : public PostProcessor {
 public:
  Wrap(std::vector<TokenId> before, std::vector<TokenId> after) : before_(std::move(before)), after_(std::move(after)) {}
  void add_special(std::vector<TokenId>& ids) const override {
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }

 private:
  std::vector<TokenId> before_, after_;
};

class Sequence : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void add_special(std::vector<TokenId>& ids) const override {
    for (const auto& p : parts_) p->add_special(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

class Nothing : public PostProcessor {
 public:
  void add_special(std::vector<TokenId>&) const override {}
};

std::unique_ptr<PostProcessor> make_template(const Json& j, const JsonPlace& p, size_t limit) {
  // special_tokens: {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}, ...}
  std::unordered_map<std::string, std::vector<TokenId>> specials;
  if (auto it = j.find("special_tokens"); it != j.end() && !it->is_null()) {
    JsonPlace sp = p.at("special_tokens");
    if (!it->is_object()) field_error(sp, "expected an object");
    for (auto s = it->begin(); s != it->end(); ++s) {
      const Json& ids = require_array(s.value(), "ids", sp.at(s.key()));
      std::vector<TokenId> v;
      for (size_t k = 0; k < ids.size(); ++k) v.push_back(checked_id(ids[k], sp.at(s.key()).at("ids").at(k), limit));
      specials[s.key()] = std::move(v);
    }
  }
  const Json& single = require_array(j, "single", p);
  JsonPlace tp = p.at("single");
  std::vector<TokenId> before, after;
  bool seen_sequence = false;
  for (size_t k = 0; k < single.size(); ++k) {
    const Json& item = single[k];
    JsonPlace ip = tp.at(k);
    if (item.is_object() && item.contains("SpecialToken")) {
      std::string id = get_string(item["SpecialToken"], "id", ip.at("SpecialToken"));
      auto it = specials.find(id);
      if (it == specials.end()) field_error(ip, "special token \"" + id + "\" is not in special_tokens");
      auto& dst = seen_sequence ? after : before;
      dst.insert(dst.end(), it->second.begin(), it->second.end());
    } else if (item.is_object() && item.contains("Sequence")) {
      if (seen_sequence) field_error(ip, "a single-sequence template with two sequences");
      seen_sequence = true;
    } else {
      field_error(ip, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  if (!seen_sequence) field_error(tp, "the template has no Sequence");
  return std::make_unique<Wrap>(std::move(before), std::move(after));
}

// RobertaProcessing / BertProcessing: cls + A + sep, with "cls": ["<s>", 0], "sep": ["</s>", 2].
std::unique_ptr<PostProcessor> make_cls_sep(const Json& j, const JsonPlace& p, size_t limit) {
  auto pair_id = [&](const char* key) {
    const Json& v = require_array(j, key, p);
    if (v.size() != 2) field_error(p.at(key), "expected [token, id]");
    return checked_id(v[1], p.at(key).at(1), limit);
  };
  return std::make_unique<Wrap>(std::vector<TokenId>{pair_id("cls")}, std::vector<TokenId>{pair_id("sep")});
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const JsonPlace& p, size_t limit) {
  if (j.is_null()) return nullptr;
  std::string type = component_type(j, p);
  if (type == "TemplateProcessing") return make_template(j, p, limit);
  if (type == "ByteLevel") return std::make_unique<Nothing>();
  if (type == "RobertaProcessing" || type == "BertProcessing") return make_cls_sep(j, p, limit);
  if (type == "Sequence") {
    const Json& arr = require_array(j, "processors", p);
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t k = 0; k < arr.size(); ++k)
      if (auto pp = make_post_processor(arr[k], p.at("processors").at(k), limit)) parts.push_back(std::move(pp));
    return std::make_unique<Sequence>(std::move(parts));
  }
  unknown_type(p, "post_processor", type);
}

std::unique_ptr<PostProcessor> make_wrap_post_processor(std::vector<TokenId> before, std::vector<TokenId> after) {
  return std::make_unique<Wrap>(std::move(before), std::move(after));
}

}  // namespace ziq::tok
