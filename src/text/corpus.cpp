#include "text/corpus.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "core/json_depth.h"
#include "text/decompress.h"
#include "text/utf8.h"

namespace ziq::text {
namespace fs = std::filesystem;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The file name without compression extension: "cc.jsonl.xz" -> "cc.jsonl".
std::string strip_compression_ext(std::string name) {
  for (const char* ext : {".gz", ".zst", ".zstd", ".xz"})
    if (ends_with(name, ext)) return name.substr(0, name.size() - std::strlen(ext));
  return name;
}

std::string stem_of(const std::string& path) {
  std::string name = strip_compression_ext(fs::path(path).filename().string());
  auto dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull, kFnvPrime = 0x100000001b3ull;

struct Input {
  std::string path;
  std::string default_subset;
};

}  // namespace

struct CorpusReader::Impl {
  CorpusOptions opt;
  CorpusCounters counters;
  std::vector<Input> inputs;
  size_t next_input = 0;
  uint64_t total_bytes = 0, done_bytes = 0;  // raw bytes of finished files
  uint64_t fnv = kFnvOffset;
  std::string no_file;

  // The file being read.
  std::unique_ptr<ByteSource> src;
  const Input* cur = nullptr;
  bool jsonl = false, src_eof = false;
  std::string buf;  // decompressed bytes not yet consumed as lines
  size_t pos = 0;
  uint64_t line_no = 0;

  void add_path(const std::string& path) {
    if (path == "-") {
      inputs.push_back({path, opt.default_subset.empty() ? "stdin" : opt.default_subset});
      return;
    }
    std::error_code ec;
    auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) input_error("{}: no such file or directory", path);
    if (!fs::is_directory(st)) {
      inputs.push_back({path, opt.default_subset.empty() ? stem_of(path) : opt.default_subset});
      total_bytes += fs::file_size(path, ec);
      return;
    }
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it); it.increment(ec))
      if (it->is_regular_file()) files.push_back(it->path());
    if (ec) input_error("{}: cannot read directory: {}", path, ec.message());
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
      return a.string() < b.string();
    });
    std::string dir_name = fs::path(path).lexically_normal().filename().string();
    if (dir_name.empty()) dir_name = fs::path(path).lexically_normal().parent_path().filename().string();
    for (auto& f : files) {
      std::string subset = opt.default_subset;
      if (subset.empty()) {
        fs::path rel = f.lexically_relative(path);
        subset = std::distance(rel.begin(), rel.end()) > 1 ? rel.begin()->string() : dir_name;
      }
      inputs.push_back({f.string(), subset});
      total_bytes += fs::file_size(f, ec);
    }
  }

  // Appends up to `want` decompressed bytes to buf; false at the end of the file.
  bool read_more(size_t want) {
    if (src_eof) return false;
    size_t old = buf.size();
    buf.resize(old + want);
    size_t got = src->read(buf.data() + old, want);
    buf.resize(old + got);
    for (size_t i = old; i < old + got; ++i) fnv = (fnv ^ static_cast<unsigned char>(buf[i])) * kFnvPrime;
    if (got == 0) src_eof = true;
    return got > 0;
  }

  bool open_next() {
    if (next_input >= inputs.size()) return false;
    cur = &inputs[next_input++];
    src = ByteSource::open(cur->path);
    src_eof = false;
    buf.clear();
    pos = 0;
    line_no = 0;
    const std::string name = strip_compression_ext(fs::path(cur->path).filename().string());
    if (opt.format == "jsonl") jsonl = true;
    else if (opt.format == "text") jsonl = false;
    else if (ends_with(name, ".jsonl") || ends_with(name, ".ndjson")) jsonl = true;
    else if (cur->path == "-" || ends_with(name, ".json")) {
      // Sniff: JSON lines start with '{' after any blank space.
      size_t i = 0;
      while (true) {
        while (i < buf.size() && is_blank(std::string_view(&buf[i], 1))) ++i;
        if (i < buf.size() || !read_more(1 << 16)) break;
      }
      jsonl = i < buf.size() && buf[i] == '{';
    } else {
      jsonl = false;
    }
    return true;
  }

  void close_current() {
    done_bytes += src->raw_bytes_read();
    src.reset();
    buf.clear();
    pos = 0;
  }

  // The next line of the current file (without '\n'), or false at its end.
  bool next_line(std::string_view& line) {
    while (true) {
      const char* start = buf.data() + pos;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', buf.size() - pos));
      if (nl) {
        line = std::string_view(start, nl - start);
        pos = nl - buf.data() + 1;
        ++line_no;
        return true;
      }
      if (pos > 0) {  // keep only the unfinished line, then read more after it
        buf.erase(0, pos);
        pos = 0;
      }
      if (!read_more(std::max<size_t>(1 << 20, buf.size()))) {
        if (buf.empty()) return false;
        line = buf;  // last line without a final newline
        pos = buf.size();
        ++line_no;
        return true;
      }
    }
  }

  // Applies the UTF-8 policy; false when the document must be skipped. `where` names the place.
  bool check_utf8(std::string_view text, std::string& repaired, bool& was_repaired, uint64_t line_for_error,
                  bool whole_file) {
    was_repaired = false;
    size_t bad = find_invalid_utf8(text);
    if (bad == std::string_view::npos) return true;
    switch (opt.bad_utf8) {
      case BadInputPolicy::error:
        if (whole_file)
          input_error("{}:{}: invalid UTF-8 at byte offset {} of the file", cur->path,
                      line_of_offset(text, bad), bad);
        input_error("{}:{}: invalid UTF-8 at byte {} of the line", cur->path, line_for_error, bad + 1);
      case BadInputPolicy::skip:
        ++counters.skipped_bad_utf8;
        return false;
      case BadInputPolicy::replace:
        repaired = replace_invalid_utf8(text);
        was_repaired = true;
        return true;
    }
    return true;
  }

  // Parses one JSONL line into doc; false when the line is skipped. Throws on bad lines unless
  // skip_bad_lines.
  bool parse_line(std::string_view line, Document& doc) {
    std::string repaired;
    bool was_repaired;
    if (!check_utf8(line, repaired, was_repaired, line_no, false)) return false;
    if (was_repaired) line = repaired;
    std::string why;
    nlohmann::json j;
    try {
      if (const size_t deep = json_too_deep_at(line); deep != std::string_view::npos)
        why = fmt::format("JSON nested deeper than {} levels (byte {} of the line)", kMaxJsonDepth, deep + 1);
      else
        j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      why = std::string("malformed JSON: ") + e.what();
      if (why.size() > 240) why = why.substr(0, 240) + "...";  // nlohmann quotes all it read
    }
    if (why.empty()) {
      if (!j.is_object()) {
        why = std::string("expected a JSON object, found ") + j.type_name();
      } else if (auto c = j.find("content"); c == j.end()) {
        why = "missing \"content\"";
      } else if (!c->is_string()) {
        why = std::string("\"content\" is not a string (it is ") + c->type_name() + ")";
      } else if (auto s = j.find("subset"); s != j.end() && !s->is_string() && !s->is_null()) {
        why = std::string("\"subset\" is not a string (it is ") + s->type_name() + ")";
      }
    }
    if (!why.empty()) {
      if (opt.skip_bad_lines) {
        ++counters.skipped_bad_lines;
        return false;
      }
      input_error("{}:{}: {}", cur->path, line_no, why);
    }
    doc.content = std::move(j["content"].get_ref<std::string&>());
    auto s = j.find("subset");
    doc.subset = s != j.end() && s->is_string() ? s->get<std::string>() : cur->default_subset;
    auto m = j.find("meta");
    doc.meta_json = m != j.end() ? m->dump() : "";
    doc.file = cur->path;
    doc.line = line_no;
    if (was_repaired) ++counters.replaced_bad_utf8;
    return true;
  }

  bool read_text_file(Document& doc) {
    while (read_more(std::max<size_t>(1 << 20, buf.size()))) {
    }
    std::string repaired;
    bool was_repaired;
    bool keep = check_utf8(buf, repaired, was_repaired, 0, true);
    if (keep) {
      doc.content = was_repaired ? std::move(repaired) : std::move(buf);
      doc.subset = cur->default_subset;
      doc.meta_json.clear();
      doc.file = cur->path;
      doc.line = 0;
      if (was_repaired) ++counters.replaced_bad_utf8;
    }
    close_current();
    return keep;
  }

  bool next(Document& doc) {
    while (true) {
      if (!src) {
        if (!open_next()) {
          cur = nullptr;
          return false;
        }
        if (!jsonl) {
          if (read_text_file(doc)) break;
          continue;
        }
      }
      std::string_view line;
      if (!next_line(line)) {
        close_current();
        continue;
      }
      if (is_blank(line)) continue;
      if (parse_line(line, doc)) break;
    }
    ++counters.documents;
    return true;
  }
};

CorpusReader::CorpusReader(std::vector<std::string> paths, CorpusOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  if (impl_->opt.format != "auto" && impl_->opt.format != "jsonl" && impl_->opt.format != "text")
    usage_error("unknown corpus format '{}' (expected auto, jsonl or text)", impl_->opt.format);
  if (paths.empty()) usage_error("no corpus given");
  for (auto& p : paths) impl_->add_path(p);
}

CorpusReader::~CorpusReader() = default;

bool CorpusReader::next(Document& doc) { return impl_->next(doc); }

const CorpusCounters& CorpusReader::counters() const { return impl_->counters; }

std::string CorpusReader::fingerprint_hex() const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(impl_->fnv));
  return hex;
}

uint64_t CorpusReader::input_bytes_read() const {
  return impl_->done_bytes + (impl_->src ? impl_->src->raw_bytes_read() : 0);
}

uint64_t CorpusReader::input_bytes_total() const { return impl_->total_bytes; }

const std::string& CorpusReader::current_file() const {
  return impl_->cur ? impl_->cur->path : impl_->no_file;
}

}  // namespace ziq::text
