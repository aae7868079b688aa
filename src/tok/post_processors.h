// Post-processors: what tokenizer.json adds around a single sequence when special tokens are
// requested (TemplateProcessing, RobertaProcessing, BertProcessing, Sequence; ByteLevel only
// touches offsets, so it adds nothing here).
#pragma once

#include <memory>
#include <vector>

#include "tok/json_fields.h"
#include "tok/tokenizer.h"

namespace ziq::tok {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void add_special(std::vector<TokenId>& ids) const = 0;
};

// `vocab_limit`: ids at or above it are refused (id out of range).
std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const JsonPlace& where, size_t vocab_limit);
// A single-sequence template: `before` ids, the sequence, `after` ids.
std::unique_ptr<PostProcessor> make_wrap_post_processor(std::vector<TokenId> before, std::vector<TokenId> after);

}  // namespace ziq::tok
