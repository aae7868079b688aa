// BPE model of tokenizer.json: vocabulary, ranked merges, byte_fallback, unk (fused or not),
// ignore_merges, continuing_subword_prefix, end_of_word_suffix. dropout must be null.
//
// Encoding a piece applies the lowest-ranked adjacent merge first (leftmost on ties) until none
// applies, as Hugging Face does. Merges are looked up by (left id, right id) in an open-addressing
// table; short pieces use a linked list with cached pair ranks, long ones (whole documents, for
// tokenizers without a pre-tokenizer) a min-heap. Results for short pieces are cached per thread.
// In byte-level pipelines the vocabulary is converted to raw bytes at load time, so text is never
// mapped through the byte-level alphabet while encoding.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tok/json_fields.h"
#include "tok/token_model.h"

namespace ziq::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using VocabMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

// Merge table: (left id, right id) -> (rank, merged id); open addressing, linear probing.
class MergeTable {
 public:
  struct Entry {
    uint64_t key;
    uint32_t rank;
    TokenId id;
  };
  void reserve(size_t n);
  void insert(TokenId a, TokenId b, uint32_t rank, TokenId merged);  // a later insert of a pair wins
  const Entry* find(TokenId a, TokenId b) const {
    uint64_t key = pack(a, b);
    size_t i = slot(key);
    for (;;) {
      const Entry& e = slots_[i];
      if (e.key == key) return &e;
      if (e.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }
  size_t size() const { return count_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t pack(TokenId a, TokenId b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  size_t slot(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }
  std::vector<Entry> slots_;
  size_t mask_ = 0, count_ = 0;
  int shift_ = 64;
};

class BpeModel : public TokenModel {
 public:
  // `model` is tokenizer.json's "model" object (type BPE). byte_level: the pipeline feeds raw
  // bytes and the vocabulary is written in the byte-level alphabet.
  BpeModel(const Json& model, const JsonPlace& where, bool byte_level);
  ~BpeModel() override;

  void encode(std::string_view piece, std::vector<TokenId>& out) const override;
  std::optional<TokenId> token_to_id(std::string_view token) const override;
  const std::string* id_to_token(TokenId id) const override;
  size_t vocab_size() const override { return vocab_count_; }
  size_t id_bound() const override { return id_to_token_.size(); }

 private:
  void encode_uncached(std::string_view piece, std::vector<TokenId>& out) const;
  void initial_symbols(std::string_view piece, std::vector<TokenId>& syms) const;
  void merge(std::vector<TokenId>& syms) const;

  bool byte_level_;
  std::vector<std::string> id_to_token_;  // as written in the file; "" for gaps
  std::vector<uint8_t> has_id_;
  size_t vocab_count_ = 0;
  VocabMap vocab_;                        // encoding form (raw bytes when byte-level) -> id
  MergeTable merges_;
  TokenId unit_id_[256];                  // single-byte unit -> id (-1: not in vocab)
  TokenId byte_fallback_id_[256];         // <0xNN> -> id (-1: missing)
  TokenId unk_id_ = -1;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  std::string prefix_, suffix_;           // continuing_subword_prefix, end_of_word_suffix
  uint64_t cache_owner_;                  // identity of this model in the per-thread caches
};

}  // namespace ziq::tok
