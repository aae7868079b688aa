#include "tok/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <filesystem>
#include <unordered_map>

#include "core/error.h"
#include "core/json_depth.h"
#include "core/mapped_file.h"
#include "tok/json_fields.h"
#include "tok/loaders.h"
#include "tok/unicode.h"

namespace ziq::tok {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // "▁", SentencePiece's whitespace symbol

// --- .model sanity check and spec -------------------------------------------------------------
// libsentencepiece accepts a file cut at a piece boundary as a smaller model, so the serialized
// ModelProto is walked first (protobuf wire format; written by hand because Debian ships no
// sentencepiece_model.pb.h). Fields: 1 pieces, 2 trainer_spec, 3 normalizer_spec, written in that
// order, so a cut anywhere in the pieces loses the normalizer spec. The walk also reads the few
// spec fields that decide whether encoding may go word by word (see word_units_).
struct ModelSpec {
  size_t pieces = 0;
  bool trainer_spec = false, normalizer_spec = false;
  uint64_t model_type = 1;  // UNIGRAM unless said; BPE = 2
  bool whitespace_as_suffix = false;
  bool charsmap = false, rule_tsv = false;  // a normalization table is present
  bool add_dummy_prefix = true, remove_extra_whitespaces = true, escape_whitespaces = true;
};

struct WireField {
  uint64_t number = 0, value = 0;  // value: varints
  std::string_view bytes;          // length-delimited fields
};

bool read_varint(std::string_view b, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && pos < b.size(); shift += 7) {
    auto byte = static_cast<uint8_t>(b[pos++]);
    value |= uint64_t(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// The fields of one message; bad(offset, why) for bytes that are not one.
template <typename Bad>
std::vector<WireField> wire_fields(std::string_view b, size_t base, Bad bad) {
  std::vector<WireField> fields;
  for (size_t pos = 0; pos < b.size();) {
    size_t at = pos;
    WireField f;
    uint64_t tag = 0, len = 0;
    if (!read_varint(b, pos, tag)) bad(base + at, "unterminated field tag");
    f.number = tag >> 3;
    if (f.number == 0) bad(base + at, "field number 0");
    switch (tag & 7) {
      case 0:
        if (!read_varint(b, pos, f.value)) bad(base + at, "unterminated number");
        break;
      case 1: len = 8; break;
      case 5: len = 4; break;
      case 2:
        if (!read_varint(b, pos, len)) bad(base + at, "unterminated length");
        break;
      default: bad(base + at, "unknown wire type");
    }
    if (len > b.size() - pos) bad(base + at, "a field runs past the end of the file");
    f.bytes = b.substr(pos, len);
    pos += len;
    fields.push_back(f);
  }
  return fields;
}

ModelSpec read_model_spec(std::string_view b, const std::string& path) {
  auto bad = [&](size_t at, const char* why) {
    input_error("{}: not a valid SentencePiece model (truncated or corrupt at byte {} of {}: {})",
                path, at, b.size(), why);
  };
  if (b.empty()) bad(0, "the file is empty");
  ModelSpec spec;
  for (const WireField& top : wire_fields(b, 0, bad)) {
    size_t base = top.bytes.data() - b.data();
    if (top.number == 1) ++spec.pieces;
    if (top.number == 2) {
      spec.trainer_spec = true;
      for (const WireField& f : wire_fields(top.bytes, base, bad)) {
        if (f.number == 3) spec.model_type = f.value;
        if (f.number == 24) spec.whitespace_as_suffix = f.value != 0;
      }
    }
    if (top.number == 3) {
      spec.normalizer_spec = true;
      for (const WireField& f : wire_fields(top.bytes, base, bad)) {
        if (f.number == 2) spec.charsmap = !f.bytes.empty();
        if (f.number == 3) spec.add_dummy_prefix = f.value != 0;
        if (f.number == 4) spec.remove_extra_whitespaces = f.value != 0;
        if (f.number == 5) spec.escape_whitespaces = f.value != 0;
        if (f.number == 6) spec.rule_tsv = !f.bytes.empty();
      }
    }
  }
  if (spec.pieces == 0) bad(0, "no pieces");
  if (!spec.trainer_spec || !spec.normalizer_spec) bad(b.size(), "the trainer or normalizer spec is missing");
  return spec;
}

// --- tokenizer_config.json / special_tokens_map.json ----------------------------------------------
Json read_json(const std::string& path) {
  std::string text = read_file(path);
  check_json_depth(text, path);
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    input_error("{}: bad JSON: {}", path, e.what());
  }
}

// A token field: a string, an AddedToken object {"content": ...}, or null (""). Flags go to *flags.
std::string token_text(const Json& v, const JsonPlace& at, AddedToken* flags = nullptr) {
  std::string content = token_field_text(v, at);
  if (flags && v.is_object()) {
    flags->lstrip = opt_bool(v, "lstrip", at, false);
    flags->rstrip = opt_bool(v, "rstrip", at, false);
    flags->single_word = opt_bool(v, "single_word", at, false);
    flags->special = opt_bool(v, "special", at, false);
  }
  return content;
}

// The special-token fields both files may set; a later file's values win (transformers reads
// special_tokens_map.json after tokenizer_config.json).
void read_special_tokens(const Json& j, const std::string& file, SentencePiecePolicy& policy) {
  JsonPlace at{file, ""};
  for (auto [key, field] : {std::pair{"unk_token", &SentencePiecePolicy::unk_token},
                            {"bos_token", &SentencePiecePolicy::bos_token},
                            {"eos_token", &SentencePiecePolicy::eos_token},
                            {"pad_token", &SentencePiecePolicy::pad_token}})
    if (j.contains(key)) policy.*field = token_text(j[key], at.at(key));
  if (!j.contains("additional_special_tokens")) return;
  const Json& list = require_array(j, "additional_special_tokens", at);
  policy.additional_special_tokens.clear();
  for (size_t i = 0; i < list.size(); ++i)
    policy.additional_special_tokens.push_back(token_text(list[i], at.at("additional_special_tokens").at(i)));
}

// Slow tokenizer classes: those whose tokenize() is LlamaTokenizer's, and those that are plain
// sp.encode plus BOS (their remote or library code has no prefix-space handling).
bool is_llama_class(const std::string& c) { return c == "LlamaTokenizer"; }
bool is_plain_class(const std::string& c) {
  return c == "GemmaTokenizer" || c == "BaichuanTokenizer" || c == "InternLM2Tokenizer";
}

// Python's str.isspace(), which transformers' lstrip/rstrip use.
bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::string_view strip_left(std::string_view s) {
  size_t i = 0;
  for (size_t next = 0; next < s.size() && py_isspace(utf8_next(s, next));) i = next;
  return s.substr(i);
}

std::string_view strip_right(std::string_view s) {
  size_t end = s.size();
  for (size_t prev = end; prev > 0 && py_isspace(utf8_prev(s, prev));) end = prev;
  return s.substr(0, end);
}

uint64_t fnv1a(std::string_view bytes, uint64_t h = 1469598103934665603ull) {
  for (char c : bytes) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path, const std::string& folder,
                                               bool word_by_word)
    : model_path_(model_path), sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  std::string bytes = read_file(model_path);
  ModelSpec spec = read_model_spec(bytes, model_path);
  load_policy(folder);

  // legacy = false loads the model with add_dummy_prefix off, as transformers does with
  // normalizer_spec.MergeFrom(NormalizerSpec(add_dummy_prefix=False)); protobuf merges repeated
  // occurrences of a message field, so appending that field (3 { 3: 0 }) has the same effect.
  if (!policy_.legacy) bytes += std::string("\x1A\x02\x18\x00", 4);
  auto status = sp_->LoadFromSerializedProto(bytes);
  if (!status.ok()) input_error("{}: not a valid SentencePiece model: {}", model_path, status.ToString());
  if (word_by_word && spec.model_type == 2 && !spec.whitespace_as_suffix && !spec.charsmap && !spec.rule_tsv &&
      !spec.remove_extra_whitespaces && spec.escape_whitespaces)
    setup_word_units(bytes, spec.add_dummy_prefix);

  // Special tokens not listed in added_tokens_decoder are added as transformers' _add_tokens does:
  // the id of the piece with that text, or the next free id.
  size_t next_id = sp_->GetPieceSize();
  for (const auto& a : policy_.added) next_id = std::max(next_id, size_t(a.id) + 1);
  auto ensure_added = [&](const std::string& text) {
    if (text.empty()) return;
    for (const auto& a : policy_.added)
      if (a.content == text) return;
    int piece = sp_->PieceToId(text);
    bool in_vocab = piece >= 0 && piece < sp_->GetPieceSize() && sp_->IdToPiece(piece) == text;
    policy_.added.push_back({text, in_vocab ? piece : TokenId(next_id++), true});
  };
  for (const auto* t : {&policy_.bos_token, &policy_.eos_token, &policy_.unk_token, &policy_.pad_token})
    ensure_added(*t);
  for (const auto& t : policy_.additional_special_tokens) ensure_added(t);

  vocab_size_ = next_id;
  added_by_id_.assign(vocab_size_, -1);
  for (size_t i = 0; i < policy_.added.size(); ++i) {
    const auto& a = policy_.added[i];
    if (!policy_.split_special_tokens) splitter_.add({a.content, a.id});
    added_by_text_[a.content] = static_cast<int>(i);
    added_by_id_[a.id] = static_cast<int>(i);
    bool special = a.content == policy_.bos_token || a.content == policy_.eos_token ||
                   a.content == policy_.unk_token || a.content == policy_.pad_token ||
                   std::count(policy_.additional_special_tokens.begin(), policy_.additional_special_tokens.end(),
                              a.content) > 0;
    all_special_.push_back(special);
  }
  splitter_.finalize(nullptr);

  std::string config = folder.empty() ? model_path : folder + "/tokenizer_config.json";
  if (policy_.add_bos) bos_id_ = token_id(policy_.bos_token, config + ": bos_token");
  if (policy_.add_eos) eos_id_ = token_id(policy_.eos_token, config + ": eos_token");
  int space = sp_->PieceToId(kSpace);
  if (sp_->IdToPiece(space) == kSpace) space_piece_id_ = space;
  if (!policy_.legacy) {
    if (policy_.unk_token.empty()) input_error("{}: unk_token: needed when legacy is false", config);
    std::vector<int> ids;
    sp_->Encode(policy_.unk_token, &ids).IgnoreError();
    unk_prefix_pieces_ = ids.size();
  }

  std::string summary = fmt::format("sp|legacy={}|prefix={}|bos={}|eos={}|split={}|", policy_.legacy,
                                    policy_.add_prefix_space, bos_id_, eos_id_, policy_.split_special_tokens);
  for (const auto& a : policy_.added)
    summary += fmt::format("{}:{}:{}{}{}{}|", a.id, a.content, a.special, a.lstrip, a.rstrip, a.single_word);
  fingerprint_ = fmt::format("{:016x}", fnv1a(summary, fnv1a(bytes)));
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

// Word by word: when no piece has "▁" after another character, BPE never merges across the start
// of a "▁..." word, so each word encoded alone (dummy prefix off, spaces escaped as sentencepiece
// does) gives the same ids as the whole text, and repeated words come from a cache. This also needs
// BPE and a plain normalizer (no table, spaces kept as they are and escaped); otherwise the text
// goes to sentencepiece whole.
// ASCII characters that no piece of two or more characters holds (digits where the model splits
// them, newlines, tabs) never merge with anything, so they are words of their own too.
void SentencePieceTokenizer::setup_word_units(const std::string& bytes, bool add_dummy_prefix) {
  isolated_.fill(true);
  for (int id = 0; id < sp_->GetPieceSize(); ++id) {
    if (sp_->IsByte(id) || sp_->IsControl(id) || sp_->IsUnknown(id)) continue;  // never matched as text
    const std::string& piece = sp_->IdToPiece(id);
    size_t lead = 0;
    while (piece.compare(lead, kSpace.size(), kSpace) == 0) lead += kSpace.size();
    if (piece.find(kSpace, lead) != std::string::npos) return;  // a "▁" after another character
    size_t len = 0;
    for (size_t i = 0; i < piece.size(); ++len) utf8_next(piece, i);
    if (len >= 2)
      for (char c : piece)
        if (static_cast<uint8_t>(c) < 128) isolated_[static_cast<uint8_t>(c)] = false;
  }
  word_sp_ = sp_.get();
  if (policy_.legacy) {  // the dummy prefix is put in front here, so the words need a model without
    owned_word_sp_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
    if (!owned_word_sp_->LoadFromSerializedProto(bytes + std::string("\x1A\x02\x18\x00", 4)).ok()) return;
    word_sp_ = owned_word_sp_.get();
    dummy_prefix_ = add_dummy_prefix;
  }
  static std::atomic<uint64_t> instances{0};
  instance_ = ++instances;
}

void SentencePieceTokenizer::load_policy(const std::string& folder) {
  if (folder.empty()) return;
  std::string config_path = folder + "/tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    Json c = read_json(config_path);
    JsonPlace at{config_path, ""};
    if (!c.is_object()) field_error(at, "expected a JSON object");
    std::string cls = opt_string(c, "tokenizer_class", at, policy_.tokenizer_class);
    if (cls.size() > 4 && cls.ends_with("Fast")) cls.resize(cls.size() - 4);
    if (!is_llama_class(cls) && !is_plain_class(cls))
      field_error(at.at("tokenizer_class"),
                  fmt::format("tokenizer class {:?} is not one ziq reproduces with a SentencePiece .model (known: "
                              "LlamaTokenizer, GemmaTokenizer, BaichuanTokenizer, InternLM2Tokenizer)", cls));
    policy_.tokenizer_class = cls;
    policy_.legacy = is_plain_class(cls) || opt_bool(c, "legacy", at, true);
    policy_.add_prefix_space = opt_bool(c, "add_prefix_space", at, true);
    policy_.add_bos = opt_bool(c, "add_bos_token", at, true);
    policy_.add_eos = opt_bool(c, "add_eos_token", at, false);
    policy_.split_special_tokens = opt_bool(c, "split_special_tokens", at, false);
    read_special_tokens(c, config_path, policy_);
    if (c.contains("added_tokens_decoder")) {
      const Json& dec = c["added_tokens_decoder"];
      if (!dec.is_object()) field_error(at.at("added_tokens_decoder"), "expected an object");
      for (auto& [key, value] : dec.items()) {
        JsonPlace place = at.at("added_tokens_decoder").at(key);
        AddedToken a;
        auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), a.id);
        if (ec != std::errc() || end != key.data() + key.size() || a.id < 0) field_error(place, "the key is not a token id");
        if (!value.is_object()) field_error(place, "expected an object");
        a.content = token_text(value, place, &a);
        if (a.content.empty()) field_error(place, "empty token text");
        policy_.added.push_back(std::move(a));
      }
    } else if (std::filesystem::exists(folder + "/added_tokens.json")) {
      input_error("{}/added_tokens.json: tokenizer_config.json has no added_tokens_decoder; the old "
                  "added_tokens.json format is not supported", folder);
    }
  }
  std::string map_path = folder + "/special_tokens_map.json";
  if (std::filesystem::exists(map_path)) {
    Json m = read_json(map_path);
    if (!m.is_object()) input_error("{}: expected a JSON object", map_path);
    read_special_tokens(m, map_path, policy_);
  }
}

TokenId SentencePieceTokenizer::token_id(const std::string& token, const std::string& where) const {
  if (token.empty()) input_error("{}: needed (add_bos_token / add_eos_token is on) but not set", where);
  for (const auto& a : policy_.added)
    if (a.content == token) return a.id;
  input_error("{}: token {:?} is neither an added token nor a piece of the model", where, token);
}

std::vector<TokenId> SentencePieceTokenizer::encode(std::string_view text, bool add_special) const {
  if (size_t bad = utf8_invalid_at(text); bad != std::string_view::npos)
    input_error("text to encode is not valid UTF-8 (byte {})", bad);
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && policy_.add_bos) out.push_back(bos_id_);
  encode_text(text, out);
  if (add_special && policy_.add_eos) out.push_back(eos_id_);
  return out;
}

void SentencePieceTokenizer::encode_text(std::string_view text, std::vector<TokenId>& out) const {
  if (text.empty()) return;
  std::string prefixed;
  if (!policy_.legacy) {  // "▁" -> " ", then one "▁" in front (LlamaTokenizer.tokenize)
    prefixed.reserve(text.size() + 3);
    if (policy_.add_prefix_space) prefixed += kSpace;
    for (size_t i = 0; i < text.size();) {
      if (text.compare(i, kSpace.size(), kSpace) == 0) {
        prefixed += ' ';
        i += kSpace.size();
      } else {
        prefixed += text[i++];
      }
    }
    text = prefixed;
  }

  // Split at added-token text (transformers' Trie.split: leftmost, longest). Without any, the
  // text goes to sentencepiece whole.
  size_t first = out.size();
  thread_local std::vector<Segment> segments;
  segments.clear();
  splitter_.split(text, false, segments);
  if (segments.size() == 1 && segments[0].id < 0) {
    encode_piece(text, out);
    return;
  }
  std::vector<std::string> parts;
  for (const Segment& seg : segments)
    if (!seg.text.empty()) parts.emplace_back(seg.text);

  // The added tokens' strip and single-word flags, step by step as PreTrainedTokenizer.tokenize
  // applies them (parts are looked up by their text, as there).
  auto added_index = [&](const std::string& s) {
    auto it = added_by_text_.find(s);
    return it == added_by_text_.end() ? -1 : it->second;
  };
  for (size_t i = 0; i < parts.size(); ++i) {
    int k = added_index(parts[i]);
    if (k < 0) continue;
    const AddedToken& a = policy_.added[k];
    std::string left = i > 0 ? parts[i - 1] : "", right = i + 1 < parts.size() ? parts[i + 1] : "";
    if (a.rstrip && !right.empty()) parts[i + 1] = strip_left(right);
    if (a.lstrip && !left.empty()) parts[i - 1] = strip_right(left);
    if (a.single_word && !left.empty() && left.back() != ' ') {
      parts[i - 1] += parts[i];
      parts[i].clear();
    } else if (a.single_word && !right.empty() && right.front() != ' ') {
      parts[i + 1] = parts[i] + parts[i + 1];
      parts[i].clear();
    }
  }

  bool first_is_lone_space = false;
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    int k = added_index(part);
    if (k < 0) {
      encode_piece(part, out);
      first_is_lone_space = out.size() == first + 1 && out[first] == space_piece_id_;
      continue;
    }
    // LlamaTokenizer (legacy = false) drops a leading "▁" right before a special token.
    if (!policy_.legacy && first_is_lone_space && all_special_[k]) out.pop_back();
    first_is_lone_space = false;
    out.push_back(policy_.added[k].id);
  }
}

// One piece of plain text through sentencepiece (the slow tokenizer's _tokenize).
void SentencePieceTokenizer::encode_piece(std::string_view s, std::vector<TokenId>& out) const {
  if (word_sp_) {
    encode_words(s, out);
    return;
  }
  std::vector<int> ids;
  if (policy_.legacy || !(s.starts_with(kSpace) || s.starts_with(' '))) {
    sp_->Encode(s, &ids).IgnoreError();
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  // Encoded after "<unk>", whose pieces are then dropped, so that no prefix space is made up.
  sp_->Encode(policy_.unk_token + std::string(s), &ids).IgnoreError();
  size_t skip = ids.size() >= unk_prefix_pieces_ ? unk_prefix_pieces_ : 0;
  out.insert(out.end(), ids.begin() + skip, ids.end());
}

namespace {
struct WordCache {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  uint64_t owner = 0;  // the tokenizer instance the entries belong to
  std::unordered_map<std::string, std::vector<int>, Hash, std::equal_to<>> ids;
};
}  // namespace

// encode_piece's word-by-word path (see setup_word_units). The same ids as _tokenize gives: legacy
// sentencepiece puts its dummy "▁" in front; without legacy, the "<unk>" trick of _tokenize amounts
// to encoding the text with no prefix at all.
void SentencePieceTokenizer::encode_words(std::string_view s, std::vector<TokenId>& out) const {
  thread_local std::string norm;
  thread_local WordCache cache;
  if (cache.owner != instance_ || cache.ids.size() > (1u << 17)) {
    cache.ids.clear();
    cache.owner = instance_;
  }
  norm.clear();
  if (dummy_prefix_) norm += kSpace;
  for (size_t i = 0; i < s.size();) {  // sentencepiece's whitespace escaping: ' ' -> "▁"
    size_t space = std::min(s.find(' ', i), s.size());
    norm.append(s.data() + i, space - i);
    if (space < s.size()) norm += kSpace;
    i = space + 1;
  }
  // Words: a run of "▁" and what follows up to the next "▁", or one isolated character.
  auto isolated = [&](size_t i) { return static_cast<uint8_t>(norm[i]) < 128 && isolated_[uint8_t(norm[i])]; };
  std::vector<int> ids;
  for (size_t i = 0; i < norm.size();) {
    size_t end = i + 1;
    if (!isolated(i)) {
      end = i;
      while (norm.compare(end, kSpace.size(), kSpace) == 0) end += kSpace.size();
      while (end < norm.size() && !isolated(end) && norm.compare(end, kSpace.size(), kSpace) != 0) ++end;
    }
    std::string_view word(norm.data() + i, end - i);
    i = end;
    if (auto it = cache.ids.find(word); it != cache.ids.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      continue;
    }
    word_sp_->Encode(word, &ids).IgnoreError();
    out.insert(out.end(), ids.begin(), ids.end());
    if (word.size() <= 128) cache.ids.emplace(word, ids);
  }
}

// The inverse of encode: runs of pieces decoded by sentencepiece (bytes, "▁" -> " ", the model's
// dummy prefix removed where legacy encoding added it), added tokens as their text. With
// legacy = false, the prefix space encode put in front is removed from the first piece that is
// output, as LlamaTokenizer.convert_tokens_to_string does (so decode(encode(text, false)) == text
// and decode(encode(text), true) == text, while decode(encode(text)) == "<s> " + text).
std::string SentencePieceTokenizer::decode(const std::vector<TokenId>& ids, bool skip_special) const {
  std::string out, piece_text;
  std::vector<int> run;
  auto flush = [&] {
    if (run.empty()) return;
    sp_->Decode(run, &piece_text).IgnoreError();
    out += piece_text;
    run.clear();
  };
  bool first_output = true;
  size_t strip_at = std::string::npos;
  for (TokenId id : ids) {
    if (id < 0 || size_t(id) >= vocab_size_)
      usage_error("{}: token id {} is out of range (vocabulary of {})", model_path_, id, vocab_size_);
    if (int k = added_by_id_[id]; k >= 0) {
      flush();
      if (skip_special && policy_.added[k].special) continue;
      out += policy_.added[k].content;
    } else {
      if (first_output && !policy_.legacy && policy_.add_prefix_space) strip_at = out.size();
      run.push_back(id);
    }
    first_output = false;
  }
  flush();
  if (strip_at < out.size() && out[strip_at] == ' ') out.erase(strip_at, 1);
  return out;
}

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& model_path, const std::string& folder) {
  return std::make_unique<SentencePieceTokenizer>(model_path, folder);
}

}  // namespace ziq::tok
