#include "model/config.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/json_depth.h"
#include "core/mapped_file.h"

namespace ziq::model {

using nlohmann::json;

namespace {

// Far beyond any real model's sizes (vocabularies reach ~260k, hidden sizes ~16k), and small enough
// that products of two sizes cannot overflow.
constexpr int64_t kMaxDimension = int64_t{1} << 24;

const json* field(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

int64_t required_int(const ModelConfig& c, const char* name) {
  const json* v = field(c.raw, name);
  if (!v) input_error("{}: missing required field '{}'", c.path, name);
  return config_int(c, name, 0);
}

double number(const std::string& path, const json& obj, const char* name, double fallback,
              const char* where = "") {
  const json* v = field(obj, name);
  if (!v) return fallback;
  if (!v->is_number()) input_error("{}: field '{}{}' is {}, not a number", path, where, name, v->dump());
  return v->get<double>();
}

void check_theta(const ModelConfig& c) {
  if (!(c.rope.theta > 0) || !std::isfinite(c.rope.theta))
    input_error("{}: field 'rope_theta' must be a positive number, not {}", c.path, c.rope.theta);
}

void read_rope(ModelConfig& c) {
  RopeConfig& r = c.rope;
  // transformers 5: rope_parameters holds theta and scaling; transformers 4: rope_theta at the top
  // level and rope_scaling (null for plain rope).
  const json* params = field(c.raw, "rope_parameters");
  const char* where = "rope_parameters.";
  if (!params) {
    params = field(c.raw, "rope_scaling");
    where = "rope_scaling.";
  }
  r.theta = number(c.path, c.raw, "rope_theta", 10000.0);
  if (!params) {
    check_theta(c);
    return;
  }
  if (!params->is_object()) input_error("{}: field '{}' is not an object", c.path, std::string(where, strlen(where) - 1));
  r.theta = number(c.path, *params, "rope_theta", r.theta, where);
  check_theta(c);
  const json* type = field(*params, "rope_type");
  if (!type) type = field(*params, "type");
  if (type) {
    if (!type->is_string()) input_error("{}: field '{}rope_type' is not a string", c.path, where);
    r.type = type->get<std::string>();
  }
  if (r.type != "default" && r.type != "linear" && r.type != "dynamic" && r.type != "llama3")
    input_error("{}: rope type '{}' is not supported (ziq runs default, linear, dynamic, llama3)", c.path,
                r.type);
  if (number(c.path, *params, "partial_rotary_factor", 1.0, where) != 1.0)
    input_error("{}: partial_rotary_factor other than 1 is not supported", c.path);
  if (r.type == "default") return;
  if (!field(*params, "factor")) input_error("{}: missing required field '{}factor'", c.path, where);
  r.factor = number(c.path, *params, "factor", 1.0, where);
  if (!(r.factor > 0)) input_error("{}: field '{}factor' must be positive", c.path, where);
  if (r.type == "llama3") {
    for (const char* f : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      if (!field(*params, f)) input_error("{}: missing required field '{}{}'", c.path, where, f);
    r.low_freq_factor = number(c.path, *params, "low_freq_factor", 1.0, where);
    r.high_freq_factor = number(c.path, *params, "high_freq_factor", 4.0, where);
    r.original_max_position_embeddings =
        static_cast<int64_t>(number(c.path, *params, "original_max_position_embeddings", 0, where));
    if (!(r.high_freq_factor > r.low_freq_factor) || r.original_max_position_embeddings <= 0)
      input_error("{}: llama3 rope parameters are inconsistent (need high_freq_factor > low_freq_factor, "
                  "original_max_position_embeddings > 0)",
                  c.path);
  }
}

}  // namespace

int64_t config_int(const ModelConfig& c, const char* name, int64_t fallback) {
  const json* v = field(c.raw, name);
  if (!v) return fallback;
  if (!v->is_number_integer()) input_error("{}: field '{}' is {}, not an integer", c.path, name, v->dump());
  return v->get<int64_t>();
}

void require_silu(const ModelConfig& c) {
  if (const json* act = field(c.raw, "hidden_act"); act && *act != "silu")
    input_error("{}: hidden_act {} is not supported for {} (ziq runs silu)", c.path, act->dump(), c.architecture);
}

bool config_bool(const ModelConfig& c, const char* name, bool fallback) {
  const json* v = field(c.raw, name);
  if (!v) return fallback;
  if (!v->is_boolean()) input_error("{}: field '{}' is {}, not true or false", c.path, name, v->dump());
  return v->get<bool>();
}

ModelConfig read_config(const std::string& folder) {
  ModelConfig c;
  c.path = (std::filesystem::path(folder) / "config.json").string();
  try {
    const std::string text = read_file(c.path);
    check_json_depth(text, c.path);
    c.raw = json::parse(text);
  } catch (const json::parse_error& e) {
    input_error("{}: not valid JSON (byte {}): {}", c.path, e.byte, e.what());
  }
  if (!c.raw.is_object()) input_error("{}: not a JSON object", c.path);
  const json* arch = field(c.raw, "architectures");
  if (!arch) input_error("{}: missing required field 'architectures'", c.path);
  if (!arch->is_array() || arch->empty() || !(*arch)[0].is_string())
    input_error("{}: field 'architectures' is not a list of names", c.path);
  c.architecture = (*arch)[0].get<std::string>();

  c.hidden_size = required_int(c, "hidden_size");
  c.intermediate_size = required_int(c, "intermediate_size");
  c.n_layers = required_int(c, "num_hidden_layers");
  c.n_heads = required_int(c, "num_attention_heads");
  c.vocab_size = required_int(c, "vocab_size");
  c.n_kv_heads = config_int(c, "num_key_value_heads", c.n_heads);
  for (auto [name, v] : {std::pair{"hidden_size", c.hidden_size}, {"intermediate_size", c.intermediate_size},
                         {"num_hidden_layers", c.n_layers}, {"num_attention_heads", c.n_heads},
                         {"vocab_size", c.vocab_size}, {"num_key_value_heads", c.n_kv_heads}})
    if (v <= 0 || v > kMaxDimension)
      input_error("{}: field '{}' must be positive and at most {}, not {}", c.path, name, kMaxDimension, v);
  if (c.n_heads % c.n_kv_heads != 0)
    input_error("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", c.path, c.n_heads,
                c.n_kv_heads);
  if (!field(c.raw, "head_dim") && c.hidden_size % c.n_heads != 0)
    input_error("{}: no 'head_dim', and hidden_size {} is not a multiple of num_attention_heads {}", c.path,
                c.hidden_size, c.n_heads);
  c.head_dim = config_int(c, "head_dim", c.hidden_size / c.n_heads);
  if (c.head_dim <= 0 || c.head_dim % 2 != 0 || c.head_dim > kMaxDimension)
    input_error("{}: field 'head_dim' must be positive and even, not {}", c.path, c.head_dim);
  c.max_position_embeddings = config_int(c, "max_position_embeddings", 2048);
  if (c.max_position_embeddings <= 0)
    input_error("{}: field 'max_position_embeddings' must be positive, not {}", c.path, c.max_position_embeddings);
  c.rms_norm_eps = number(c.path, c.raw, "rms_norm_eps", 1e-6);
  if (!(c.rms_norm_eps >= 0) || !std::isfinite(c.rms_norm_eps))
    input_error("{}: field 'rms_norm_eps' must be a non-negative number, not {}", c.path, c.rms_norm_eps);
  c.tie_word_embeddings = config_bool(c, "tie_word_embeddings", false);
  read_rope(c);
  return c;
}

}  // namespace ziq::model
