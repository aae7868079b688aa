// Command-line options shared by every subcommand that reads a corpus (corpus, baseline, eval):
// how to treat bad input, the default subset and the format.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "core/error.h"
#include "text/corpus.h"

namespace ziq::cli {

struct CorpusCliOptions {
  std::vector<std::string> paths;
  std::string on_bad_utf8 = "error";
  bool skip_bad_lines = false;
  std::string subset_default;
  std::string format = "auto";

  text::CorpusOptions to_options() const {
    text::CorpusOptions o;
    o.bad_utf8 = on_bad_utf8 == "skip"      ? text::BadInputPolicy::skip
                 : on_bad_utf8 == "replace" ? text::BadInputPolicy::replace
                                            : text::BadInputPolicy::error;
    o.skip_bad_lines = skip_bad_lines;
    o.default_subset = subset_default;
    o.format = format;
    return o;
  }
};

// Adds the options (not the PATH positional, whose help differs per command).
inline void add_corpus_options(CLI::App& app, CorpusCliOptions& o) {
  app.add_option("--on-bad-utf8", o.on_bad_utf8,
                 "Invalid UTF-8: error (stop, naming file and line), skip (the document) or replace "
                 "(with U+FFFD, as Python's errors=\"replace\")")
      ->check(CLI::IsMember({"error", "skip", "replace"}))
      ->default_str("error");
  app.add_flag("--skip-bad-lines", o.skip_bad_lines,
               "Skip (and count) malformed JSON lines and lines without a string \"content\" instead of stopping");
  app.add_option("--subset-default", o.subset_default,
                 "Subset of documents that name none (default: the file's stem, or the folder below a given directory)");
  app.add_option("--format", o.format, "Corpus format: auto (by name, sniffed for .json and -), jsonl or text")
      ->check(CLI::IsMember({"auto", "jsonl", "text"}))
      ->default_str("auto");
}

}  // namespace ziq::cli
