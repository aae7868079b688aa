// `ziq corpus stats PATH...`: documents, empty documents, characters (code points), UTF-8 bytes and
// lines, in total and per subset. `ziq corpus cat PATH...`: the documents as read (after any
// repair) as JSONL on stdout, to check the reader against other tools.
#include <cstdio>

#include "cli/command.h"
#include "cli/corpus_options.h"
#include "cli/output.h"
#include "text/stats.h"

namespace ziq::cli {
namespace {

nlohmann::json counts_json(const text::TextCounts& c) {
  return {{"documents", c.documents}, {"empty_documents", c.empty_documents}, {"characters", c.characters},
          {"bytes", c.bytes},         {"lines", c.lines}};
}

std::vector<std::string> counts_row(const std::string& name, const text::TextCounts& c) {
  return {name, std::to_string(c.documents), std::to_string(c.empty_documents), std::to_string(c.characters),
          std::to_string(c.bytes), std::to_string(c.lines)};
}

void run_stats(const CorpusCliOptions& o, const GlobalOptions& global) {
  text::CorpusReader reader(o.paths, o.to_options());
  text::CorpusStats stats = text::compute_stats(reader);
  const auto& k = stats.counters;
  if (global.json) {
    nlohmann::json subsets = nlohmann::json::array();
    for (auto& [name, c] : stats.subsets) {
      auto j = counts_json(c);
      j["subset"] = name;
      subsets.push_back(j);
    }
    print_json({{"paths", o.paths},
                {"total", counts_json(stats.total)},
                {"subsets", subsets},
                {"skipped_bad_utf8", k.skipped_bad_utf8},
                {"replaced_bad_utf8", k.replaced_bad_utf8},
                {"skipped_bad_lines", k.skipped_bad_lines},
                {"fingerprint_fnv1a64", stats.fingerprint}});
    return;
  }
  Table t({"subset", "documents", "empty", "characters", "bytes", "lines"});
  for (auto& [name, c] : stats.subsets) t.add(counts_row(name, c));
  t.add(counts_row("total", stats.total));
  t.print();
  std::printf("bad input: %llu documents skipped and %llu repaired for invalid UTF-8, %llu bad lines skipped\n",
              static_cast<unsigned long long>(k.skipped_bad_utf8), static_cast<unsigned long long>(k.replaced_bad_utf8),
              static_cast<unsigned long long>(k.skipped_bad_lines));
  std::printf("fingerprint (FNV-1a 64 of the decompressed bytes): %s\n", stats.fingerprint.c_str());
}

void run_cat(const CorpusCliOptions& o) {
  text::CorpusReader reader(o.paths, o.to_options());
  text::Document doc;
  while (reader.next(doc)) {
    nlohmann::json j = {{"content", doc.content}, {"subset", doc.subset}};
    if (!doc.meta_json.empty()) j["meta"] = nlohmann::json::parse(doc.meta_json);
    std::string line = j.dump();
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
}

void setup(CLI::App& sub, const GlobalOptions& global) {
  static CorpusCliOptions stats_opt, cat_opt;
  sub.require_subcommand(1);
  CLI::App* stats = sub.add_subcommand("stats", "Count documents, empty documents, characters, bytes and lines per subset");
  stats->fallthrough();
  stats->add_option("PATH", stats_opt.paths, "JSONL (.gz/.zst/.xz), text files, directories, or - for stdin")->required();
  add_corpus_options(*stats, stats_opt);
  stats->callback([&global] { run_stats(stats_opt, global); });

  CLI::App* cat = sub.add_subcommand("cat", "Print the documents as read (after any repair) as JSONL");
  cat->fallthrough();
  cat->add_option("PATH", cat_opt.paths, "JSONL (.gz/.zst/.xz), text files, directories, or - for stdin")->required();
  add_corpus_options(*cat, cat_opt);
  cat->callback([] { run_cat(cat_opt); });
}

}  // namespace
ZIQ_COMMAND("corpus", "Read corpora: statistics (stats) and the documents as read (cat)", setup);
}  // namespace ziq::cli
