// xdpsecctl's command line: `xdpsecctl [--socket PATH] [--json] COMMAND`
// with the commands of DESIGN.md, turned into one control request.
//
// Parsed by hand rather than with Boost.Program_options: the command words
// are positional, and `tunnel add NAME --KEY VALUE …` takes free-form
// options that only the daemon can validate; Boost.PO could accept those
// only with allow_unregistered(), which would also swallow a mistyped
// global option instead of refusing it.
#pragma once

#include "control/control_protocol.h"

#include <string>
#include <variant>
#include <vector>

namespace xdpsec::cli {

struct CliCommand {
    std::string socket{control::kDefaultSocket};
    bool json = false;
    control::ControlRequest request;  // cmd "tunnel up", args {"site-b"}, ...
};

// Bad arguments: print the message and usage_text() on stderr, exit 2.
struct CliUsageError {
    std::string message;
};

// --help or --version: print the text on stdout, exit 0.
struct CliInfo {
    std::string text;
};

using CliParse = std::variant<CliCommand, CliUsageError, CliInfo>;

// `args` without the program name.
CliParse parse_cli_args(const std::vector<std::string>& args);

std::string usage_text();

}  // namespace xdpsec::cli
