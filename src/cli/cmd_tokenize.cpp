// `ziq tokenize`: encodes every non-empty document of a corpus with a tokenizer.
//   --format jsonl   one JSON array of ids per non-empty document, in corpus order
//   --format count   totals (documents, tokens, bytes, characters) and the encoding speed
//   --format decode  one JSON string per non-empty document: decode(encode(text)) with special
//                    tokens skipped (the round trip the parity tests compare with tokenizers)
// Documents are read in batches and encoded on all threads; output order is the corpus order.
// The speed reported by count is the encoding alone (reading and writing are not timed).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/output.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"
#include "text/corpus.h"
#include "tok/tokenizer.h"

namespace ziq::cli {
namespace {

struct Options {
  std::string tokenizer;
  std::vector<std::string> corpus;
  std::string format = "jsonl";
  bool no_special = false;
  int threads = 0;
};

void append_ids_json(std::string& out, const std::vector<tok::TokenId>& ids) {
  out.push_back('[');
  char buf[16];
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k) out.push_back(',');
    auto r = fmt::format_to_n(buf, sizeof buf, "{}", ids[k]);
    out.append(buf, r.size);
  }
  out += "]\n";
}

void run(const Options& o, const GlobalOptions& global) {
  if (o.format != "jsonl" && o.format != "count" && o.format != "decode")
    usage_error("--format must be jsonl, count or decode, not \"{}\"", o.format);
  auto t0 = std::chrono::steady_clock::now();
  auto tokenizer = tok::load_tokenizer(o.tokenizer);
  double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int threads = resolve_threads(o.threads);
  const bool add_special = !o.no_special;

  text::CorpusReader reader(o.corpus);
  Progress progress("tokenize", 0, "docs");
  uint64_t documents = 0, empty = 0, tokens = 0, bytes = 0, chars = 0;
  double encode_seconds = 0;

  constexpr size_t kBatchDocs = 512, kBatchBytes = 16u << 20;
  std::vector<std::string> batch;
  std::vector<std::string> rendered;
  std::vector<uint64_t> batch_tokens;
  auto flush = [&] {
    if (batch.empty()) return;
    rendered.assign(batch.size(), std::string());
    batch_tokens.assign(batch.size(), 0);
    // Longest documents first, so no thread is left with a long one at the end of the batch.
    std::vector<size_t> order(batch.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return batch[a].size() > batch[b].size(); });
    auto b0 = std::chrono::steady_clock::now();
    parallel_for(batch.size(), threads, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        size_t k = order[i];
        auto ids = tokenizer->encode(batch[k], add_special);
        batch_tokens[k] = ids.size();
        if (o.format == "jsonl") {
          append_ids_json(rendered[k], ids);
        } else if (o.format == "decode") {
          rendered[k] = nlohmann::json(tokenizer->decode(ids, true)).dump() + "\n";
        }
      }
    });
    encode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - b0).count();
    for (size_t k = 0; k < batch.size(); ++k) {
      tokens += batch_tokens[k];
      if (!rendered[k].empty()) std::fwrite(rendered[k].data(), 1, rendered[k].size(), stdout);
    }
    progress.add(batch.size());
    batch.clear();
  };

  text::Document doc;
  size_t batch_bytes = 0;
  while (reader.next(doc)) {
    if (doc.content.empty()) {
      ++empty;
      continue;
    }
    ++documents;
    bytes += doc.content.size();
    chars += text::count_code_points(doc.content);
    batch_bytes += doc.content.size();
    batch.push_back(std::move(doc.content));
    if (batch.size() >= kBatchDocs || batch_bytes >= kBatchBytes) {
      flush();
      batch_bytes = 0;
    }
  }
  flush();
  progress.finish();
  std::fflush(stdout);

  if (o.format != "count") return;
  double mbps = encode_seconds > 0 ? bytes / 1e6 / encode_seconds : 0;
  if (global.json) {
    print_json({{"tokenizer", o.tokenizer},
                {"kind", tokenizer->kind()},
                {"fingerprint", tokenizer->fingerprint()},
                {"documents", documents},
                {"empty_documents", empty},
                {"tokens", tokens},
                {"bytes", bytes},
                {"characters", chars},
                {"threads", threads},
                {"load_seconds", load_seconds},
                {"encode_seconds", encode_seconds},
                {"mb_per_second", mbps}});
    return;
  }
  Table t({"documents", "empty", "tokens", "bytes", "characters", "encode s", "MB/s"});
  t.add({std::to_string(documents), std::to_string(empty), std::to_string(tokens), std::to_string(bytes),
         std::to_string(chars), fixed(encode_seconds, 3), fixed(mbps, 2)});
  t.print();
}

void setup(CLI::App& sub, const GlobalOptions& global) {
  auto o = std::make_shared<Options>();
  sub.add_option("--tokenizer", o->tokenizer, "Model folder, tokenizer.json, .model or .tiktoken file")->required();
  sub.add_option("--corpus", o->corpus, "Corpus files or folders (JSONL, text; gz/zst/xz)")->required();
  sub.add_option("--format", o->format, "jsonl (ids per document), count (totals), decode (round trip)");
  sub.add_flag("--no-special", o->no_special, "Do not add special tokens (BOS/EOS)");
  sub.add_option("--threads", o->threads, "Encoding threads (0 = all cores)");
  sub.callback([o, &global] { run(*o, global); });
}

}  // namespace
ZIQ_COMMAND("tokenize", "Encode a corpus with a tokenizer: ids per document, or totals and speed", setup);
}  // namespace ziq::cli
