// Reading fields of tokenizer.json components with errors that name the file and the field
// ("tokenizer.json: pre_tokenizer.pretokenizers[1].behavior: expected a string").
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/error.h"

namespace ziq::tok {

using Json = nlohmann::json;

// Where a JSON value sits: "<file>: <path>".
struct JsonPlace {
  std::string file, path;
  JsonPlace at(const std::string& key) const { return {file, path.empty() ? key : path + "." + key}; }
  JsonPlace at(size_t index) const { return {file, path + "[" + std::to_string(index) + "]"}; }
  std::string str() const { return file + ": " + path; }
};

[[noreturn]] inline void field_error(const JsonPlace& p, const std::string& why) {
  input_error("{}: {}", p.str(), why);
}

inline const Json& require(const Json& j, const char* key, const JsonPlace& p) {
  if (!j.is_object()) field_error(p, "expected an object");
  auto it = j.find(key);
  if (it == j.end()) field_error(p.at(key), "missing");
  return *it;
}

inline std::string get_string(const Json& j, const char* key, const JsonPlace& p) {
  const Json& v = require(j, key, p);
  if (!v.is_string()) field_error(p.at(key), "expected a string");
  return v.get<std::string>();
}

// Optional string: `fallback` when absent or null.
inline std::string opt_string(const Json& j, const char* key, const JsonPlace& p, const std::string& fallback = "") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) field_error(p.at(key), "expected a string");
  return it->get<std::string>();
}

inline bool opt_bool(const Json& j, const char* key, const JsonPlace& p, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) field_error(p.at(key), "expected true or false");
  return it->get<bool>();
}

inline int64_t opt_int(const Json& j, const char* key, const JsonPlace& p, int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) field_error(p.at(key), "expected an integer");
  return it->get<int64_t>();
}

inline const Json& require_array(const Json& j, const char* key, const JsonPlace& p) {
  const Json& v = require(j, key, p);
  if (!v.is_array()) field_error(p.at(key), "expected an array");
  return v;
}

// A special-token field of tokenizer_config.json / special_tokens_map.json ("bos_token": ...): a
// string, an AddedToken object {"content": ...}, or null ("").
inline std::string token_field_text(const Json& v, const JsonPlace& at) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_object() || !v.contains("content") || !v["content"].is_string())
    field_error(at, "expected a string or an object with a \"content\" string");
  return v["content"].get<std::string>();
}

// A component's "type" field.
inline std::string component_type(const Json& j, const JsonPlace& p) {
  if (!j.is_object()) field_error(p, "expected an object");
  return get_string(j, "type", p);
}

[[noreturn]] inline void unknown_type(const JsonPlace& p, const std::string& kind, const std::string& type) {
  input_error("{}: unsupported {} type {:?} (ziq refuses components it does not implement rather "
              "than ignoring them)", p.str(), kind, type);
}

}  // namespace ziq::tok
