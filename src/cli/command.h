// The `ziq` command is a set of subcommands, one file each (src/cli/cmd_*.cpp). A file registers
// its subcommand at static-initialisation time with ZIQ_COMMAND; main.cpp builds the CLI11 app
// from the registry. Adding a subcommand therefore touches no shared file.
//
// A command's setup function adds its options to `sub` and installs `sub.callback(...)`. The
// callback reports failure by throwing ziq::Error (core/error.h); main maps it to an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace ziq::cli {

// Options every subcommand accepts (they may be given before or after the subcommand name).
struct GlobalOptions {
  bool json = false;   // machine-readable output on stdout
  bool quiet = false;  // no progress bars or notes on stderr
};

using CommandSetup = std::function<void(CLI::App& sub, const GlobalOptions& global)>;

struct CommandInfo {
  std::string name;
  std::string description;
  CommandSetup setup;
};

std::vector<CommandInfo>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string description, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

#define ZIQ_CONCAT_INNER(a, b) a##b
#define ZIQ_CONCAT(a, b) ZIQ_CONCAT_INNER(a, b)
#define ZIQ_COMMAND(name, description, setup) \
  static ::ziq::cli::CommandRegistrar ZIQ_CONCAT(ziq_command_, __LINE__){name, description, setup}

}  // namespace ziq::cli
