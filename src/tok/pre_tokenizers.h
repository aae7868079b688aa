// Pre-tokenizers: split a normalized segment into the pieces ("words") the model encodes one at a
// time. Pieces are views into the segment or into strings the pre-tokenizer made (Metaspace).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tok/json_fields.h"

namespace ziq::tok {

struct Piece {
  std::string_view text;
  bool at_start = false;  // begins at offset 0 of the original input (Metaspace "first")
};

class Pieces {
 public:
  std::vector<Piece> list;
  // Keeps `s` alive as long as this object and returns a view of it.
  std::string_view own(std::string s) {
    owned_.push_back(std::move(s));
    return owned_.back();
  }
  void clear() {
    list.clear();
    owned_.clear();
  }

 private:
  std::deque<std::string> owned_;
};

// How a split treats what the pattern matched (HF's SplitDelimiterBehavior).
enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(Pieces& pieces) const = 0;
  // True when the model sees the byte-level alphabet (a ByteLevel pre-tokenizer, always last):
  // ziq then encodes raw bytes against a vocabulary converted to raw bytes.
  virtual bool byte_level() const { return false; }
};

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const JsonPlace& where);

// Splits `piece` at the given match ranges (sorted, non-overlapping) according to `behavior`,
// appending non-empty results to `out` (exposed for tests).
void split_piece(const Piece& piece, const std::vector<std::pair<size_t, size_t>>& matches, bool invert,
                 SplitBehavior behavior, std::vector<Piece>& out);

}  // namespace ziq::tok
