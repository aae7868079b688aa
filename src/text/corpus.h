// Corpora: a stream of documents read from JSONL (the paper's schema: {"content", "subset",
// "meta"}), plain text files (one document each), directories of them, or "-" (stdin). Files may
// be gzip, zstd or xz compressed, detected from their first bytes. Documents are streamed one at
// a time, so a corpus of tens of GB is never loaded whole.
//
// Bad input stops with ziq::Error (kind input) naming the file and line, unless the options say to
// skip or replace; then the counters say how many were skipped or replaced.
//
// Exact rules:
// - Format (option "auto"): names ending in .jsonl or .ndjson (before any .gz/.zst/.zstd/.xz) are
//   JSONL; .json and "-" (stdin) are JSONL when the first non-blank byte is '{', else text; any
//   other name is a plain-text file whose whole content is one document (bytes kept as they are:
//   no newline translation, a BOM stays U+FEFF).
// - JSONL: lines end with '\n'; blank lines (only spaces, tabs, CR) are not documents and are
//   passed over. Each other line must be a JSON object with a string "content"; "subset" is a
//   string or absent/null (then the default subset); "meta" is kept as compact JSON. JSON escapes
//   that decode to lone surrogates are refused as malformed (Python would accept them).
// - UTF-8 is checked on the raw line (JSONL) or file (text) before parsing, as Python's
//   open(encoding="utf-8") would; "replace" repairs exactly as bytes.decode("utf-8", "replace").
// - Directories are walked recursively, entries in byte order of their path, regular files only.
// - Default subset when none is given (options.default_subset empty): for a file named on the
//   command line, its stem without compression and format extensions ("cc.jsonl.xz" -> "cc"); for
//   a file found under a named directory D, the first folder below D ("D/cc/a.txt" -> "cc"), or
//   D's own name for files directly in D; for stdin, "stdin".
// - fingerprint_hex is FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) of the
//   decompressed bytes of all files in reading order, as 16 lowercase hex digits.
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
  // How far the reading is, for progress bars: bytes taken from the files as stored (compressed),
  // and their total size (0 when unknown, e.g. stdin).
  uint64_t input_bytes_read() const;
  uint64_t input_bytes_total() const;
  // The file currently being read ("" before the first and after the last).
  const std::string& current_file() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Unicode code points in valid UTF-8 (what Python's len() counts on the decoded str).
uint64_t count_code_points(std::string_view utf8);

}  // namespace ziq::text
