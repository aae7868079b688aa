#include "text/stats.h"

#include <algorithm>

#include "core/progress.h"

namespace ziq::text {

uint64_t count_lines(std::string_view content) {
  uint64_t n = std::count(content.begin(), content.end(), '\n');
  return n + (!content.empty() && content.back() != '\n');
}

void TextCounts::add(std::string_view content) {
  ++documents;
  empty_documents += content.empty();
  characters += count_code_points(content);
  bytes += content.size();
  lines += count_lines(content);
}

void TextCounts::merge(const TextCounts& o) {
  documents += o.documents;
  empty_documents += o.empty_documents;
  characters += o.characters;
  bytes += o.bytes;
  lines += o.lines;
}

TextCounts& CorpusStats::subset(const std::string& name) {
  // Corpora have a handful of subsets: a linear search beats a map here.
  for (auto& [n, c] : subsets)
    if (n == name) return c;
  subsets.emplace_back(name, TextCounts{});
  return subsets.back().second;
}

CorpusStats compute_stats(CorpusReader& reader, const std::function<void(const Document&)>& on_document) {
  CorpusStats stats;
  Progress progress("reading", reader.input_bytes_total(), "B");
  Document doc;
  while (reader.next(doc)) {
    stats.total.add(doc.content);
    stats.subset(doc.subset).add(doc.content);
    if (on_document) on_document(doc);
    progress.set(reader.input_bytes_read());
  }
  progress.finish();
  stats.counters = reader.counters();
  stats.fingerprint = reader.fingerprint_hex();
  return stats;
}

}  // namespace ziq::text
