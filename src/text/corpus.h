// Corpora: a stream of documents read from JSONL (the paper's schema: {"content", "subset",
// "meta"}), plain text files (one document each), directories of them, or "-" (stdin). Files may
// be gzip, zstd or xz compressed, detected from their first bytes. Documents are streamed one at
// a time, so a corpus of tens of GB is never loaded whole.
//
// Bad input stops with ziq::Error (kind input) naming the file and line, unless the options say to
// skip or replace; then the counters say how many were skipped or replaced.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ziq::text {

struct Document {
  std::string content;    // UTF-8 (validated, or repaired when the options say so)
  std::string subset;     // "subset" field; for non-JSONL inputs the default subset (see options)
  std::string meta_json;  // "meta" object as compact JSON text, "" when absent
  std::string file;       // where it came from
  uint64_t line = 0;      // 1-based line in `file` (JSONL), 0 for whole-file documents
};

enum class BadInputPolicy { error, skip, replace };  // replace: invalid UTF-8 -> U+FFFD (as Python's errors="replace")

struct CorpusOptions {
  BadInputPolicy bad_utf8 = BadInputPolicy::error;   // error | skip (the document) | replace
  bool skip_bad_lines = false;                       // malformed JSON / missing or non-string content
  std::string default_subset;                        // for plain text (default: the file's stem)
  std::string format = "auto";                       // auto | jsonl | text
};

struct CorpusCounters {
  uint64_t documents = 0;          // yielded, including empty ones
  uint64_t skipped_bad_utf8 = 0;
  uint64_t replaced_bad_utf8 = 0;  // documents in which something was replaced
  uint64_t skipped_bad_lines = 0;
};

class CorpusReader {
 public:
  CorpusReader(std::vector<std::string> paths, CorpusOptions options = {});
  ~CorpusReader();
  // Fills `doc` with the next document; false at the end. Empty documents are yielded too:
  // callers decide (the paper's protocol drops them and says so).
  bool next(Document& doc);
  const CorpusCounters& counters() const;
  // A fingerprint of the bytes read so far (after decompression): stable identity of a corpus.
  std::string fingerprint_hex() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Unicode code points in valid UTF-8 (what Python's len() counts on the decoded str).
uint64_t count_code_points(std::string_view utf8);

}  // namespace ziq::text
