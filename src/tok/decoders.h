// Decoders: turn the token strings of a decoded id sequence back into text (ByteLevel, Metaspace,
// ByteFallback, Fuse, Strip, Replace, Sequence), each working on the list of token strings as
// Hugging Face's decode_chain does; the results are then concatenated.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tok/json_fields.h"

namespace ziq::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode(std::vector<std::string>& tokens) const = 0;
};

std::unique_ptr<Decoder> make_decoder(const Json& j, const JsonPlace& where);

}  // namespace ziq::tok
