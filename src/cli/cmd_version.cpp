// `ziq version`: the version and what this build can do (backends, libraries).
#include <sqlite3.h>
#include <zstd.h>

#include "cli/command.h"
#include "cli/output.h"

namespace ziq::cli {
namespace {
void setup(CLI::App& sub, const GlobalOptions& global) {
  sub.callback([&global] {
    nlohmann::json j = {{"ziq", ZIQ_VERSION},
                        {"sqlite", sqlite3_libversion()},
                        {"zstd", ZSTD_versionString()}};
    if (global.json) {
      print_json(j);
    } else {
      std::printf("ziq %s (sqlite %s, zstd %s)\n", ZIQ_VERSION, sqlite3_libversion(), ZSTD_versionString());
    }
  });
}
}  // namespace
ZIQ_COMMAND("version", "Print ziq's version and the libraries it was built with", setup);
}  // namespace ziq::cli
