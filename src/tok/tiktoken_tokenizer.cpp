#include "tok/tiktoken_tokenizer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <climits>
#include <cstring>
#include <filesystem>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "text/decompress.h"
#include "tok/loaders.h"
#include "tok/unicode.h"

namespace ziq::tok {
namespace {

constexpr TokenId kNoRank = INT32_MAX;

// Split patterns, as tiktoken states them (r50k's is GPT-2's, rewritten possessive by tiktoken).
const char* kR50kPattern =
    R"('(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s)";
const char* kCl100kPattern =
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s)";
const char* kO200kPattern =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

std::vector<TiktokenFamily> make_families() {
  const std::string eot = "<|endoftext|>", fim_prefix = "<|fim_prefix|>", fim_middle = "<|fim_middle|>",
                    fim_suffix = "<|fim_suffix|>", eop = "<|endofprompt|>";
  std::vector<TiktokenFamily> f;
  f.push_back({"r50k_base", kR50kPattern, {{eot, 50256}}, 50257});
  f.push_back({"p50k_base", kR50kPattern, {{eot, 50256}}, 50281});
  f.push_back({"p50k_edit", kR50kPattern, {{eot, 50256}, {fim_prefix, 50281}, {fim_middle, 50282}, {fim_suffix, 50283}}, 0});
  f.push_back({"cl100k_base", kCl100kPattern,
               {{eot, 100257}, {fim_prefix, 100258}, {fim_middle, 100259}, {fim_suffix, 100260}, {eop, 100276}}, 0});
  f.push_back({"o200k_base", kO200kPattern, {{eot, 199999}, {eop, 200018}}, 0});
  // o200k_harmony: o200k_base's plus 199998 and 200000..201087 (200018 has two names there).
  TiktokenFamily harmony{"o200k_harmony", kO200kPattern, {{"<|startoftext|>", 199998}, {eot, 199999}, {eop, 200018}}, 0};
  const char* named[] = {"<|reserved_200000|>", "<|reserved_200001|>", "<|return|>", "<|constrain|>",
                         "<|reserved_200004|>", "<|channel|>", "<|start|>", "<|end|>", "<|message|>",
                         "<|reserved_200009|>", "<|reserved_200010|>", "<|reserved_200011|>", "<|call|>"};
  for (TokenId i = 0; i < 13; ++i) harmony.special_tokens.emplace_back(named[i], 200000 + i);
  for (TokenId i = 200013; i < 201088; ++i) harmony.special_tokens.emplace_back(fmt::format("<|reserved_{}|>", i), i);
  f.push_back(std::move(harmony));
  return f;
}

const std::vector<TiktokenFamily>& families() {
  static const std::vector<TiktokenFamily> all = make_families();
  return all;
}

uint64_t hash_bytes(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  h = (h ^ v) * 0x94D049BB133111EBull;
  return h ^ (h >> 29);
}

// Standard base64 with '=' padding; false on anything else.
bool base64_decode(std::string_view in, std::string& out) {
  static const auto table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  size_t pad = in.ends_with("==") ? 2 : in.ends_with('=') ? 1 : 0;
  uint32_t acc = 0;
  for (size_t i = 0; i < in.size() - pad; ++i) {
    int v = table[static_cast<uint8_t>(in[i])];
    if (v < 0) return false;
    acc = (acc << 6) | uint32_t(v);
    if (i % 4 == 3) {
      out += static_cast<char>(acc >> 16), out += static_cast<char>(acc >> 8), out += static_cast<char>(acc);
      acc = 0;
    }
  }
  if (pad == 1) out += static_cast<char>(acc >> 10), out += static_cast<char>(acc >> 2);
  if (pad == 2) out += static_cast<char>(acc >> 4);
  return true;
}

std::string file_stem(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  return name.substr(0, name.find('.'));
}

}  // namespace

const TiktokenFamily* find_tiktoken_family(std::string_view name) {
  for (const auto& f : families())
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> tiktoken_family_names() {
  std::vector<std::string> names;
  for (const auto& f : families()) names.push_back(f.name);
  return names;
}

// --- RankTable -----------------------------------------------------------------------------------

void RankTable::reserve(size_t n) {
  size_t want = 16;
  while (want < 2 * n) want *= 2;
  if (want > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(want, Slot{});
    count_ = 0;
    for (const Slot& s : old)
      if (s.rank >= 0) {
        size_t mask = slots_.size() - 1;
        for (size_t i = hash_bytes(std::string_view(arena_).substr(s.offset, s.length)) & mask;; i = (i + 1) & mask)
          if (slots_[i].rank < 0) {
            slots_[i] = s;
            ++count_;
            break;
          }
      }
  }
}

bool RankTable::insert(std::string_view bytes, TokenId rank) {
  if (2 * (count_ + 1) > slots_.size()) reserve(count_ + 1);
  size_t mask = slots_.size() - 1;
  uint64_t h = hash_bytes(bytes);
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.rank < 0) {
      s = {static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(bytes.size()), rank, uint32_t(h >> 32)};
      arena_ += bytes;
      ++count_;
      return true;
    }
    if (s.tag == uint32_t(h >> 32) && s.length == bytes.size() &&
        std::memcmp(arena_.data() + s.offset, bytes.data(), bytes.size()) == 0)
      return false;
  }
}

TokenId RankTable::find(std::string_view bytes) const {
  if (slots_.empty()) return -1;
  size_t mask = slots_.size() - 1;
  uint64_t h = hash_bytes(bytes);
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.rank < 0) return -1;
    if (s.tag == uint32_t(h >> 32) && s.length == bytes.size() &&
        std::memcmp(arena_.data() + s.offset, bytes.data(), bytes.size()) == 0)
      return s.rank;
  }
}

// --- TiktokenTokenizer ---------------------------------------------------------------------------

TiktokenTokenizer::TiktokenTokenizer(const std::string& path, const std::string& family) : path_(path) {
  std::string name = family.empty() ? file_stem(path) : family;
  const TiktokenFamily* f = find_tiktoken_family(name);
  if (!f) {
    std::string known;
    for (const auto& n : tiktoken_family_names()) known += (known.empty() ? "" : ", ") + n;
    if (family.empty())
      input_error("{}: the file name does not say which tiktoken family it is ({:?}); name it after "
                  "one or give the family: {}", path, name, known);
    usage_error("unknown tiktoken family {:?} (known: {})", name, known);
  }
  family_ = *f;

  // tiktoken's load_tiktoken_bpe: non-empty lines of "base64 rank".
  std::string content = text::read_decompressed_file(path);
  ranks_.reserve(content.size() / 12);
  std::string bytes;
  TokenId max_rank = -1;
  size_t line_no = 0;
  for (size_t pos = 0; pos < content.size();) {
    size_t end = content.find('\n', pos);
    if (end == std::string::npos) end = content.size();
    std::string_view line(content.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) continue;
    size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos)
      input_error("{}:{}: expected \"<base64 token> <rank>\"", path, line_no);
    if (!base64_decode(line.substr(0, space), bytes))
      input_error("{}:{}: the token is not valid base64", path, line_no);
    std::string_view rank_text = line.substr(space + 1);
    TokenId rank = -1;
    auto [ptr, ec] = std::from_chars(rank_text.data(), rank_text.data() + rank_text.size(), rank);
    if (ec != std::errc() || ptr != rank_text.data() + rank_text.size() || rank < 0)
      input_error("{}:{}: the rank {:?} is not a non-negative integer", path, line_no, rank_text);
    if (!ranks_.insert(bytes, rank)) input_error("{}:{}: the token appears twice", path, line_no);
    max_rank = std::max(max_rank, rank);
  }
  if (ranks_.size() == 0) input_error("{}: no ranks in the file", path);
  for (int b = 0; b < 256; ++b)
    if (ranks_.find(std::string(1, static_cast<char>(b))) < 0)
      input_error("{}: byte 0x{:02x} has no rank; every single byte must be a token", path, b);

  TokenId max_id = max_rank;
  for (const auto& [text, id] : family_.special_tokens) max_id = std::max(max_id, id);
  if (family_.n_vocab && ranks_.size() + family_.special_tokens.size() != family_.n_vocab)
    input_error("{}: {} ranks, but {} has {} besides its {} special tokens (is it the right file?)", path,
                ranks_.size(), family_.name, family_.n_vocab - family_.special_tokens.size(),
                family_.special_tokens.size());
  decoder_.assign(size_t(max_id) + 1, std::string_view());
  is_special_.assign(decoder_.size(), false);
  std::vector<bool> used(decoder_.size(), false);
  TokenId duplicate = -1;
  ranks_.for_each([&](std::string_view b, TokenId r) {
    if (used[r]) duplicate = r;
    used[r] = true;
    decoder_[r] = b;
  });
  if (duplicate >= 0) input_error("{}: rank {} is given to two tokens", path, duplicate);
  for (const auto& [text, id] : family_.special_tokens) {
    if (used[id] && !is_special_[id]) input_error("{}: rank {} is also {}'s special token {}", path, id, family_.name, text);
    if (!is_special_[id]) decoder_[id] = text;  // two names for one id (o200k_harmony): the first
    is_special_[id] = true;
    specials_.add({text, id});
  }
  specials_.finalize(nullptr);
  regex_ = std::make_unique<Regex>(family_.pattern, family_.name + " pattern");
  fingerprint_ = fmt::format("{:016x}", hash_bytes(content) ^ hash_bytes(family_.name));
  static std::atomic<uint64_t> instances{0};
  instance_ = ++instances;
}

std::vector<TokenId> TiktokenTokenizer::encode(std::string_view text, bool add_special) const {
  if (size_t bad = utf8_invalid_at(text); bad != std::string_view::npos)
    input_error("tiktoken: the text is not valid UTF-8 (byte {})", bad);
  std::vector<TokenId> out;
  out.reserve(text.size() / 4 + 1);
  if (!add_special) {
    encode_ordinary(text, out);
    return out;
  }
  thread_local std::vector<Segment> segments;
  segments.clear();
  specials_.split(text, false, segments);
  for (const Segment& seg : segments) {
    if (seg.id >= 0)
      out.push_back(seg.id);
    else
      encode_ordinary(seg.text, out);
  }
  return out;
}

void TiktokenTokenizer::encode_ordinary(std::string_view text, std::vector<TokenId>& out) const {
  if (text.empty()) return;
  thread_local std::vector<std::pair<size_t, size_t>> matches;
  matches.clear();
  regex_->find_all(text, matches);
  for (auto [b, e] : matches) encode_piece(text.substr(b, e - b), out);
}

void TiktokenTokenizer::encode_piece(std::string_view piece, std::vector<TokenId>& out) const {
  if (TokenId whole = ranks_.find(piece); whole >= 0) {
    out.push_back(whole);
    return;
  }
  if (piece.size() > 128) {
    merge_long(piece, out);
    return;
  }
  // Pieces that are not tokens repeat (identifiers, inflected words): their merges are cached.
  struct Cache {
    struct Hash {
      using is_transparent = void;
      size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    uint64_t owner = 0;
    std::unordered_map<std::string, std::vector<TokenId>, Hash, std::equal_to<>> ids;
  };
  thread_local Cache cache;
  if (cache.owner != instance_ || cache.ids.size() > (1u << 16)) {
    cache.ids.clear();
    cache.owner = instance_;
  }
  if (auto it = cache.ids.find(piece); it != cache.ids.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  size_t start = out.size();
  merge_short(piece, out);
  cache.ids.emplace(piece, std::vector<TokenId>(out.begin() + start, out.end()));
}

// tiktoken's merge loop: boundaries with the rank of the pair that starts at each; merge the
// lowest (leftmost among equals) until no pair is a token. Quadratic, fine for short pieces.
void TiktokenTokenizer::merge_short(std::string_view piece, std::vector<TokenId>& out) const {
  struct Part {
    uint32_t start;
    TokenId rank;
  };
  thread_local std::vector<Part> parts;
  parts.clear();
  for (size_t i = 0; i <= piece.size(); ++i) parts.push_back({uint32_t(i), kNoRank});
  auto pair_rank = [&](size_t i) {
    if (i + 2 >= parts.size()) return kNoRank;
    TokenId r = ranks_.find(piece.substr(parts[i].start, parts[i + 2].start - parts[i].start));
    return r < 0 ? kNoRank : r;
  };
  for (size_t i = 0; i + 2 < parts.size(); ++i) parts[i].rank = pair_rank(i);
  while (parts.size() > 2) {
    size_t best = 0;
    for (size_t i = 1; i + 2 < parts.size(); ++i)
      if (parts[i].rank < parts[best].rank) best = i;
    if (parts[best].rank == kNoRank) break;
    parts.erase(parts.begin() + best + 1);
    parts[best].rank = pair_rank(best);
    if (best > 0) parts[best - 1].rank = pair_rank(best - 1);
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    out.push_back(ranks_.find(piece.substr(parts[i].start, parts[i + 1].start - parts[i].start)));
}

// The same merges for long pieces (long words, digit-free runs of symbols): a linked list of parts
// and a min-heap of (rank, start) with stale entries skipped, O(n log n).
void TiktokenTokenizer::merge_long(std::string_view piece, std::vector<TokenId>& out) const {
  const uint32_t n = static_cast<uint32_t>(piece.size());
  std::vector<uint32_t> next(n), prev(n), version(n, 0);
  std::vector<bool> alive(n, true);
  for (uint32_t i = 0; i < n; ++i) next[i] = i + 1, prev[i] = i - 1;  // prev[0] wraps: "none"
  auto pair_rank = [&](uint32_t i) {
    if (next[i] >= n) return kNoRank;
    uint32_t end = next[next[i]];
    TokenId r = ranks_.find(piece.substr(i, end - i));
    return r < 0 ? kNoRank : r;
  };
  struct Entry {
    TokenId rank;
    uint32_t start, version;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : start > o.start; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (uint32_t i = 0; i + 1 < n; ++i)
    if (TokenId r = pair_rank(i); r != kNoRank) heap.push({r, i, 0});
  while (!heap.empty()) {
    Entry e = heap.top();
    heap.pop();
    if (!alive[e.start] || e.version != version[e.start]) continue;
    uint32_t gone = next[e.start];
    alive[gone] = false;
    next[e.start] = next[gone];
    if (next[gone] < n) prev[next[gone]] = e.start;
    auto requeue = [&](uint32_t i) {
      ++version[i];
      if (TokenId r = pair_rank(i); r != kNoRank) heap.push({r, i, version[i]});
    };
    requeue(e.start);
    if (prev[e.start] < n) requeue(prev[e.start]);
  }
  for (uint32_t i = 0; i < n; i = next[i]) out.push_back(ranks_.find(piece.substr(i, next[i] - i)));
}

std::string TiktokenTokenizer::decode(const std::vector<TokenId>& ids, bool skip_special) const {
  std::string out;
  for (TokenId id : ids) {
    if (id < 0 || size_t(id) >= decoder_.size() || (decoder_[id].empty() && !is_special_[id]))
      usage_error("{}: token id {} is not in {}", path_, id, family_.name);
    if (skip_special && is_special_[id]) continue;
    out += decoder_[id];
  }
  return out;
}

std::unique_ptr<Tokenizer> load_tiktoken_tokenizer(const std::string& path) {
  return std::make_unique<TiktokenTokenizer>(path);
}

}  // namespace ziq::tok
