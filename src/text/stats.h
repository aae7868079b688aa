// Counts over a corpus, in total and per subset: what `ziq corpus stats` prints and what the eval
// and baseline commands report beside their figures.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "text/corpus.h"

namespace ziq::text {

struct TextCounts {
  uint64_t documents = 0;        // including empty ones
  uint64_t empty_documents = 0;  // content == ""
  uint64_t characters = 0;       // Unicode code points (Python's len())
  uint64_t bytes = 0;            // UTF-8 bytes
  uint64_t lines = 0;            // '\n' count, plus one if the text does not end with '\n'

  void add(std::string_view content);
  void merge(const TextCounts& other);
};

// Lines as defined above: content.count("\n") + (1 if content and not content.endswith("\n")).
uint64_t count_lines(std::string_view content);

struct CorpusStats {
  TextCounts total;
  std::vector<std::pair<std::string, TextCounts>> subsets;  // in order of first appearance
  CorpusCounters counters;                                  // skipped / replaced
  std::string fingerprint;

  TextCounts& subset(const std::string& name);
};

// Reads the whole corpus and counts it; `on_document` (optional) sees each document as well.
// A progress bar is drawn on a terminal when reading takes more than a second.
CorpusStats compute_stats(CorpusReader& reader, const std::function<void(const Document&)>& on_document = {});

}  // namespace ziq::text
