#include "tok/bpe.h"

#include <array>
#include <atomic>
#include <queue>

#include "tok/byte_level.h"
#include "tok/unicode.h"

namespace ziq::tok {

// ---- merge table ----

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  slots_.assign(cap, Entry{kEmpty, 0, 0});
  mask_ = cap - 1;
  shift_ = 64 - __builtin_ctzll(cap);
  count_ = 0;
}

void MergeTable::insert(TokenId a, TokenId b, uint32_t rank, TokenId merged) {
  if ((count_ + 1) * 2 > slots_.size()) {
    std::vector<Entry> old;
    old.swap(slots_);
    reserve(std::max<size_t>(count_ + 1, old.size()));
    for (const Entry& e : old)
      if (e.key != kEmpty) insert(TokenId(e.key >> 32), TokenId(uint32_t(e.key)), e.rank, e.id);
  }
  uint64_t key = pack(a, b);
  size_t i = slot(key);
  while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
  if (slots_[i].key == kEmpty) ++count_;
  slots_[i] = Entry{key, rank, merged};
}

// ---- per-thread cache of piece -> ids ----

namespace {

std::atomic<uint64_t> next_owner{1};

struct PieceCache {
  uint64_t owner = 0;
  std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>> map;
};

constexpr size_t kCacheMaxPiece = 64;       // bytes; longer pieces are rare and not repeated
constexpr size_t kCacheMaxEntries = 1 << 18;

PieceCache& cache_for(uint64_t owner) {
  thread_local std::array<PieceCache, 4> caches;
  thread_local size_t victim = 0;
  for (auto& c : caches)
    if (c.owner == owner) return c;
  PieceCache& c = caches[victim++ % caches.size()];
  c.owner = owner;
  c.map.clear();
  return c;
}

// Scratch arrays of the merge loop, reused across calls on a thread.
struct MergeScratch {
  std::vector<int32_t> prev, next;
  std::vector<uint32_t> rank;
  std::vector<TokenId> merged;
};

constexpr uint32_t kNoRank = ~uint32_t{0};

}  // namespace

// ---- loading ----

BpeModel::BpeModel(const Json& model, const JsonPlace& p, bool byte_level)
    : byte_level_(byte_level), cache_owner_(next_owner.fetch_add(1)) {
  if (auto it = model.find("dropout"); it != model.end() && !it->is_null())
    field_error(p.at("dropout"), "BPE dropout is random; ziq supports only null");
  fuse_unk_ = opt_bool(model, "fuse_unk", p, false);
  byte_fallback_ = opt_bool(model, "byte_fallback", p, false);
  ignore_merges_ = opt_bool(model, "ignore_merges", p, false);
  prefix_ = opt_string(model, "continuing_subword_prefix", p);
  suffix_ = opt_string(model, "end_of_word_suffix", p);

  const Json& vocab = require(model, "vocab", p);
  JsonPlace vp = p.at("vocab");
  if (!vocab.is_object()) field_error(vp, "expected an object of token -> id");
  VocabMap as_written;
  as_written.reserve(vocab.size());
  int64_t max_id = -1;
  const int64_t limit = int64_t(vocab.size()) * 16 + 4096;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) field_error(vp.at(it.key()), "expected an integer id");
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= limit) field_error(vp.at(it.key()), "id " + std::to_string(id) + " out of range");
    as_written[it.key()] = TokenId(id);
    max_id = std::max(max_id, id);
  }
  vocab_count_ = as_written.size();
  id_to_token_.assign(size_t(max_id + 1), std::string());
  has_id_.assign(size_t(max_id + 1), 0);
  for (const auto& [tok, id] : as_written) {
    id_to_token_[size_t(id)] = tok;
    has_id_[size_t(id)] = 1;
  }

  if (std::string unk = opt_string(model, "unk_token", p); !unk.empty()) {
    auto it = as_written.find(unk);
    if (it == as_written.end()) field_error(p.at("unk_token"), "token \"" + unk + "\" is not in the vocabulary");
    unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = as_written.find(std::string_view(name));
    byte_fallback_id_[b] = it == as_written.end() ? -1 : it->second;
  }

  // Merges: "a b" strings (older files) or ["a", "b"] pairs.
  const Json& merges = require_array(model, "merges", p);
  JsonPlace mp = p.at("merges");
  merges_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const Json& m = merges[r];
    std::string a, b;
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        field_error(mp.at(r), "expected two tokens separated by one space, got \"" + s + "\"");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      field_error(mp.at(r), "expected \"a b\" or [\"a\", \"b\"]");
    }
    auto ia = as_written.find(a), ib = as_written.find(b);
    if (ia == as_written.end()) field_error(mp.at(r), "token \"" + a + "\" is not in the vocabulary");
    if (ib == as_written.end()) field_error(mp.at(r), "token \"" + b + "\" is not in the vocabulary");
    std::string joined = a + (b.starts_with(prefix_) ? b.substr(prefix_.size()) : b);
    auto ij = as_written.find(joined);
    if (ij == as_written.end()) field_error(mp.at(r), "merged token \"" + joined + "\" is not in the vocabulary");
    merges_.insert(ia->second, ib->second, uint32_t(r), ij->second);
  }

  // The encoding-side vocabulary: raw bytes for byte-level pipelines. Tokens with characters
  // outside the byte-level alphabet can never come out of byte-level text, so they are left out.
  if (byte_level_) {
    vocab_.reserve(as_written.size());
    for (const auto& [tok, id] : as_written)
      if (auto raw = byte_level_decode(tok)) vocab_.emplace(std::move(*raw), id);
    if (auto raw = byte_level_decode(prefix_)) prefix_ = *raw;
    if (auto raw = byte_level_decode(suffix_)) suffix_ = *raw;
  } else {
    vocab_ = std::move(as_written);
  }
  for (int b = 0; b < 256; ++b) {
    unit_id_[b] = -1;
    if (!byte_level_ && b >= 0x80) continue;  // not a whole character
    auto it = vocab_.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
    if (it != vocab_.end()) unit_id_[b] = it->second;
  }
}

BpeModel::~BpeModel() = default;

std::optional<TokenId> BpeModel::token_to_id(std::string_view token) const {
  if (byte_level_) {
    auto raw = byte_level_decode(token);
    if (!raw) return std::nullopt;
    auto it = vocab_.find(*raw);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
  }
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(TokenId id) const {
  if (id < 0 || size_t(id) >= id_to_token_.size() || !has_id_[size_t(id)]) return nullptr;
  return &id_to_token_[size_t(id)];
}

// ---- encoding ----

void BpeModel::encode(std::string_view piece, std::vector<TokenId>& out) const {
  if (piece.empty()) return;
  if (piece.size() > kCacheMaxPiece) {
    encode_uncached(piece, out);
    return;
  }
  // The small per-thread cache first: it is hot, the vocabulary is not.
  PieceCache& cache = cache_for(cache_owner_);
  if (auto it = cache.map.find(piece); it != cache.map.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  size_t before = out.size();
  encode_uncached(piece, out);
  if (cache.map.size() >= kCacheMaxEntries) cache.map.clear();
  cache.map.emplace(std::string(piece), std::vector<TokenId>(out.begin() + before, out.end()));
}

void BpeModel::encode_uncached(std::string_view piece, std::vector<TokenId>& out) const {
  if (ignore_merges_) {
    if (auto it = vocab_.find(piece); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  thread_local std::vector<TokenId> syms;
  syms.clear();
  initial_symbols(piece, syms);
  merge(syms);
  out.insert(out.end(), syms.begin(), syms.end());
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<TokenId>& syms) const {
  const bool affixes = !prefix_.empty() || !suffix_.empty();
  thread_local std::string key;
  bool pending_unk = false;
  size_t i = 0, n = piece.size();
  while (i < n) {
    size_t start = i;
    auto lead = static_cast<uint8_t>(piece[i]);
    i += byte_level_ ? 1 : std::min(utf8_len(lead), n - i);
    std::string_view unit = piece.substr(start, i - start);
    TokenId id = -1;
    if (!affixes) {
      if (unit.size() == 1) {
        id = unit_id_[lead];
      } else if (auto it = vocab_.find(unit); it != vocab_.end()) {
        id = it->second;
      }
    } else {
      key.clear();
      if (start > 0) key += prefix_;
      key += unit;
      if (i == n) key += suffix_;
      if (auto it = vocab_.find(key); it != vocab_.end()) id = it->second;
    }
    if (id >= 0) {
      syms.push_back(id);
      pending_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : unit) all = all && byte_fallback_id_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        for (char c : unit) syms.push_back(byte_fallback_id_[static_cast<uint8_t>(c)]);
        pending_unk = false;
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (!(fuse_unk_ && pending_unk)) syms.push_back(unk_id_);
      pending_unk = true;
    }
    // Without an unk token, Hugging Face drops the character; so does ziq.
  }
}

void BpeModel::merge(std::vector<TokenId>& s) const {
  const int32_t n = int32_t(s.size());
  if (n < 2) return;
  thread_local MergeScratch w;
  w.prev.resize(size_t(n));
  w.next.resize(size_t(n));
  w.rank.resize(size_t(n));
  w.merged.resize(size_t(n));
  auto score = [&](int32_t i) {
    int32_t j = w.next[size_t(i)];
    const MergeTable::Entry* e = j < n ? merges_.find(s[size_t(i)], s[size_t(j)]) : nullptr;
    w.rank[size_t(i)] = e ? e->rank : kNoRank;
    w.merged[size_t(i)] = e ? e->id : -1;
  };
  for (int32_t i = 0; i < n; ++i) {
    w.prev[size_t(i)] = i - 1;
    w.next[size_t(i)] = i + 1;
  }
  for (int32_t i = 0; i < n; ++i) score(i);
  // Merges symbol i with its right neighbour and rescores the two pairs that changed.
  auto apply = [&](int32_t i) {
    int32_t j = w.next[size_t(i)];
    s[size_t(i)] = w.merged[size_t(i)];
    int32_t k = w.next[size_t(j)];
    w.next[size_t(i)] = k;
    if (k < n) w.prev[size_t(k)] = i;
    w.next[size_t(j)] = -1;  // j is gone
    score(i);
    if (w.prev[size_t(i)] >= 0) score(w.prev[size_t(i)]);
  };

  if (n <= 64) {
    // Short pieces: scan the cached pair ranks for the lowest (leftmost on ties).
    for (;;) {
      uint32_t best = kNoRank;
      int32_t at = -1;
      for (int32_t i = 0; i < n; i = w.next[size_t(i)]) {
        if (w.rank[size_t(i)] < best) {
          best = w.rank[size_t(i)];
          at = i;
        }
      }
      if (at < 0) break;
      apply(at);
    }
  } else {
    // Long pieces: a min-heap of (rank, position); stale entries are skipped when popped.
    std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<>> heap;
    for (int32_t i = 0; i < n; ++i)
      if (w.rank[size_t(i)] != kNoRank) heap.push((uint64_t(w.rank[size_t(i)]) << 32) | uint32_t(i));
    while (!heap.empty()) {
      uint64_t top = heap.top();
      heap.pop();
      auto i = int32_t(uint32_t(top));
      auto r = uint32_t(top >> 32);
      if (w.next[size_t(i)] < 0 || w.rank[size_t(i)] != r) continue;  // gone or rescored
      apply(i);
      if (w.rank[size_t(i)] != kNoRank) heap.push((uint64_t(w.rank[size_t(i)]) << 32) | uint32_t(i));
      int32_t p = w.prev[size_t(i)];
      if (p >= 0 && w.rank[size_t(p)] != kNoRank) heap.push((uint64_t(w.rank[size_t(p)]) << 32) | uint32_t(p));
    }
  }
  size_t out = 0;
  for (int32_t i = 0; i < n; i = w.next[size_t(i)]) s[out++] = s[size_t(i)];
  s.resize(out);
}

}  // namespace ziq::tok
