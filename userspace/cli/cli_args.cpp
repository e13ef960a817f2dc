#include "cli/cli_args.h"

#include <array>
#include <string_view>

#ifndef XDPSEC_VERSION
#define XDPSEC_VERSION "unknown"
#endif

namespace xdpsec::cli {

namespace {

constexpr std::array<std::string_view, 6> kTunnelSubcommands = {"list", "up", "down", "rekey", "add",
                                                                 "del"};

bool is_tunnel_add(const std::vector<std::string>& words) {
    return words.size() >= 2 && words[0] == "tunnel" && words[1] == "add";
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// The command words, checked; empty when they are well formed.
std::string check_words(const std::vector<std::string>& w) {
    if (w.empty()) return "missing COMMAND";
    const auto& c = w[0];
    if (c == "status" || c == "stats" || c == "reload")
        return w.size() == 1 ? "" : c + " takes no arguments";
    if (c == "sa") {
        if (w.size() < 2) return "sa: missing subcommand (list)";
        if (w[1] != "list") return "sa: unknown subcommand " + quoted(w[1]);
        return w.size() == 2 ? "" : "sa list takes no arguments";
    }
    if (c == "tunnel") {
        if (w.size() < 2) return "tunnel: missing subcommand (list, up, down, rekey, add, del)";
        bool known = false;
        for (auto s : kTunnelSubcommands) known = known || w[1] == s;
        if (!known) return "tunnel: unknown subcommand " + quoted(w[1]);
        if (w[1] == "list") return w.size() == 2 ? "" : "tunnel list takes no arguments";
        if (w.size() < 3) return "tunnel " + w[1] + ": missing NAME";
        if (w[1] == "rekey" && w.size() == 4)
            return w[3] == "child" || w[3] == "ike"
                       ? ""
                       : "tunnel rekey: expected child or ike after NAME, got " + quoted(w[3]);
        if (w.size() > 3) return "tunnel " + w[1] + ": too many arguments";
        return "";
    }
    return "unknown command " + quoted(c);
}

}  // namespace

std::string usage_text() {
    return "usage: xdpsecctl [--socket PATH] [--json] COMMAND\n"
           "\n"
           "commands:\n"
           "  status                       the daemon's state\n"
           "  tunnel list                  configured tunnels\n"
           "  tunnel up NAME               bring a tunnel up\n"
           "  tunnel down NAME             take a tunnel down\n"
           "  tunnel rekey NAME [child|ike]\n"
           "                               rekey the tunnel's CHILD SAs (default) or\n"
           "                               its IKE SA now\n"
           "  tunnel add NAME --KEY VALUE ...\n"
           "                               add a tunnel: the keys of a [tunnel.NAME]\n"
           "                               section, '_' written as '-' (--local-ts)\n"
           "  tunnel del NAME              remove a tunnel\n"
           "  sa list                      security associations and their counters\n"
           "  stats                        XDP verdicts and worker counters\n"
           "  reload                       re-read the configuration file\n"
           "\n"
           "options:\n"
           "  --socket PATH   control socket (default " +
           std::string(control::kDefaultSocket) +
           ")\n"
           "  --json          print the daemon's JSON reply as it is\n"
           "  -h, --help      this text\n"
           "  --version       xdpsecctl's version\n";
}

CliParse parse_cli_args(const std::vector<std::string>& args) {
    CliCommand cmd;
    std::vector<std::string> words;
    std::vector<std::string> options;  // tunnel add: KEY, VALUE, KEY, VALUE, ...
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--json") {
            cmd.json = true;
        } else if (a == "--socket" || a.starts_with("--socket=")) {
            if (a == "--socket") {
                if (i + 1 >= args.size()) return CliUsageError{"--socket needs a PATH"};
                cmd.socket = args[++i];
            } else {
                cmd.socket = a.substr(9);
            }
            if (cmd.socket.empty()) return CliUsageError{"--socket needs a PATH"};
        } else if (a == "-h" || a == "--help") {
            return CliInfo{usage_text()};
        } else if (a == "--version") {
            return CliInfo{"xdpsecctl " XDPSEC_VERSION "\n"};
        } else if (is_tunnel_add(words) && words.size() == 3) {
            // After NAME: --KEY VALUE or --KEY=VALUE, checked by the daemon.
            if (!a.starts_with("--") || a.size() == 2)
                return CliUsageError{"tunnel add: expected --KEY VALUE, got " + quoted(a)};
            const auto eq = a.find('=');
            if (eq != std::string::npos) {
                options.push_back(a.substr(2, eq - 2));
                options.push_back(a.substr(eq + 1));
                if (options[options.size() - 2].empty())
                    return CliUsageError{"tunnel add: expected --KEY VALUE, got " + quoted(a)};
            } else {
                if (i + 1 >= args.size())
                    return CliUsageError{"tunnel add: " + a + " needs a value"};
                options.push_back(a.substr(2));
                options.push_back(args[++i]);
            }
        } else if (a.size() > 1 && a[0] == '-') {
            if (is_tunnel_add(words) && words.size() == 2)
                return CliUsageError{"tunnel add: missing NAME before the --KEY VALUE options"};
            return CliUsageError{"unknown option " + quoted(a)};
        } else {
            words.push_back(a);
        }
    }
    if (auto why = check_words(words); !why.empty()) return CliUsageError{why};

    // Requests name the command by its words: "tunnel up", "sa list".
    const std::size_t cmd_words = words[0] == "tunnel" || words[0] == "sa" ? 2 : 1;
    for (std::size_t i = 0; i < cmd_words; ++i)
        cmd.request.cmd += (i ? " " : "") + words[i];
    cmd.request.args.assign(words.begin() + static_cast<std::ptrdiff_t>(cmd_words), words.end());
    cmd.request.args.insert(cmd.request.args.end(), options.begin(), options.end());
    return cmd;
}

}  // namespace xdpsec::cli
