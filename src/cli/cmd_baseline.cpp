// `ziq baseline [PATH...]`: bits per character and per byte of gzip -9, xz -9e and zstd -19 on the
// corpus text, per subset, mean over subsets and pooled. Without PATH: the built-in sample corpus.
// What exactly is compressed is stated in codec/classic.h.
#include <cstdio>

#include "cli/baseline_view.h"
#include "cli/command.h"
#include "cli/corpus_options.h"
#include "cli/data_files.h"
#include "cli/output.h"
#include "codec/classic.h"

namespace ziq::cli {
namespace {

struct BaselineOptions {
  CorpusCliOptions corpus;
  int threads = 0;
};

void run(const BaselineOptions& o, const GlobalOptions& global) {
  CorpusCliOptions copt = o.corpus;
  if (copt.paths.empty()) copt.paths = {sample_corpus_path()};
  text::CorpusReader reader(copt.paths, copt.to_options());
  codec::BaselineReport report = codec::compute_baselines(reader, codec::all_classic_codecs(), o.threads);
  const auto& k = reader.counters();
  if (global.json) {
    nlohmann::json j = codec::to_json(report);
    j["paths"] = copt.paths;
    j["fingerprint_fnv1a64"] = reader.fingerprint_hex();
    j["skipped_bad_utf8"] = k.skipped_bad_utf8;
    j["replaced_bad_utf8"] = k.replaced_bad_utf8;
    j["skipped_bad_lines"] = k.skipped_bad_lines;
    print_json(j);
    return;
  }
  print_baselines(report);
  std::printf("%llu documents (%llu empty, not compressed); per subset the documents' text is concatenated "
              "in order without separator and compressed as one file\n",
              static_cast<unsigned long long>(report.documents),
              static_cast<unsigned long long>(report.empty_documents));
  if (k.skipped_bad_utf8 || k.replaced_bad_utf8 || k.skipped_bad_lines)
    std::printf("bad input: %llu documents skipped and %llu repaired for invalid UTF-8, %llu bad lines skipped\n",
                static_cast<unsigned long long>(k.skipped_bad_utf8),
                static_cast<unsigned long long>(k.replaced_bad_utf8),
                static_cast<unsigned long long>(k.skipped_bad_lines));
}

void setup(CLI::App& sub, const GlobalOptions& global) {
  static BaselineOptions opt;
  sub.add_option("PATH", opt.corpus.paths,
                 "Corpus: JSONL (.gz/.zst/.xz), text files, directories, or - for stdin (default: the built-in sample)");
  add_corpus_options(sub, opt.corpus);
  sub.add_option("-t,--threads", opt.threads, "Threads (0 = all cores); the codecs run in parallel")->default_str("0");
  sub.callback([&global] { run(opt, global); });
}

}  // namespace
ZIQ_COMMAND("baseline", "Bits per character of gzip -9, xz -9e and zstd -19 on a corpus (default: the sample)", setup);
}  // namespace ziq::cli
