#include "cli/data_files.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace ziq::cli {
namespace fs = std::filesystem;

std::string data_dir() {
  std::vector<fs::path> tried;
  if (const char* env = std::getenv("ZIQ_DATA_DIR"); env && *env) {
    if (fs::is_directory(env)) return env;
    input_error("ZIQ_DATA_DIR={}: not a directory", env);
  }
#ifdef ZIQ_DATA_DIR
  tried.emplace_back(ZIQ_DATA_DIR);
#endif
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    fs::path bin = fs::path(std::string(exe, n)).parent_path();
    tried.push_back(bin / "data");
    tried.push_back(bin.parent_path() / "data");
    tried.push_back(bin.parent_path() / "share" / "ziq" / "data");
  }
  std::string list;
  for (auto& p : tried) {
    if (fs::is_directory(p / "sample")) return p.string();
    list += (list.empty() ? "" : ", ") + p.string();
  }
  input_error("ziq's data folder was not found (tried {}); set ZIQ_DATA_DIR", list);
}

std::string sample_corpus_path() { return (fs::path(data_dir()) / "sample" / "sample.jsonl").string(); }

}  // namespace ziq::cli
