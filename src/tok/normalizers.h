// Normalizers: the first stage of a tokenizer.json pipeline. Each rewrites the text of one
// segment (the input between added tokens) in place. Offsets are not tracked: ziq needs ids only.
#pragma once

#include <memory>
#include <string>

#include "tok/json_fields.h"
#include "tok/regex.h"

namespace ziq::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;
};

// Builds the normalizer described by `j` (a tokenizer.json "normalizer" object); null JSON gives
// nullptr. Unknown types are refused by name.
std::unique_ptr<Normalizer> make_normalizer(const Json& j, const JsonPlace& where);

// Reads a Split / Replace "pattern" field: {"String": "..."} fills `literal`, {"Regex": "..."}
// fills `re`.
void read_pattern(const Json& j, const JsonPlace& where, std::string& literal, std::unique_ptr<Regex>& re);

}  // namespace ziq::tok
