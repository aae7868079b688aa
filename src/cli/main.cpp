// Entry point of the `ziq` command: builds the subcommands from the registry (command.h), parses,
// runs, and maps failures to the documented exit codes:
//   0 success, 2 usage error, 3 bad input (file named in the message), 4 internal error,
//   130 interrupted (Ctrl-C; long work is resumable), 143 terminated (SIGTERM; the same).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <string_view>

#include "cli/command.h"
#include "core/error.h"
#include "core/progress.h"

namespace ziq::cli {
std::vector<CommandInfo>& command_registry() {
  static std::vector<CommandInfo> registry;
  return registry;
}
}  // namespace ziq::cli

int main(int argc, char** argv) {
  using namespace ziq;
  CLI::App app{"ziq: bits per character of text under a language model, the paper's way, fast.\n"
               "Exit codes: 0 ok, 2 usage error, 3 bad input, 4 internal error, 130 interrupted, 143 terminated."};
  app.name("ziq");
  app.set_version_flag("--version", std::string("ziq ") + ZIQ_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  cli::GlobalOptions global;
  app.add_flag("--json", global.json, "Print machine-readable JSON on stdout");
  app.add_flag("-q,--quiet", global.quiet, "No progress bars or notes on stderr");

  auto& registry = cli::command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& cmd : registry) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.description);
    sub->fallthrough();
    cmd.setup(*sub, global);
  }
  // Decided before any subcommand runs: a --json or --quiet anywhere silences progress bars.
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a == "--json" || a == "-q" || a == "--quiet") Progress::disable_globally();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const Error& e) {
    std::fprintf(stderr, "ziq: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "ziq: internal error: out of memory\n");
    return kExitInternal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ziq: internal error: %s\n", e.what());
    return kExitInternal;
  }
  return kExitOk;
}
