// xdpsecctl: drives xdpsecd over its control socket. Exit status 0 on
// success, 1 when the daemon cannot be reached or refuses the request, 2 for
// bad arguments.
#include "cli/cli_args.h"
#include "cli/cli_render.h"
#include "cli/control_client.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

namespace {

constexpr std::chrono::seconds kReplyTimeout{30};

int run(const std::vector<std::string>& args) {
    using namespace xdpsec::cli;
    const auto parsed = parse_cli_args(args);
    if (const auto* info = std::get_if<CliInfo>(&parsed)) {
        std::cout << info->text;
        return 0;
    }
    if (const auto* bad = std::get_if<CliUsageError>(&parsed)) {
        std::cerr << "xdpsecctl: " << bad->message << "\n\n" << usage_text();
        return 2;
    }
    const auto& cmd = std::get<CliCommand>(parsed);

    const auto raw = send_request(cmd.socket, xdpsec::control::encode_request(cmd.request),
                                  kReplyTimeout);
    if (!raw) {
        std::cerr << "xdpsecctl: " << raw.error().message << "\n";
        return 1;
    }
    const auto reply = nlohmann::ordered_json::parse(*raw, nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded() || !reply.is_object()) {
        std::cerr << "xdpsecctl: malformed reply from xdpsecd at " << cmd.socket << "\n";
        return 1;
    }
    const auto error = reply.find("error");
    if (error != reply.end()) {
        std::string why = error->is_string()
                              ? error->get<std::string>()
                              : error->dump(-1, ' ', false,
                                            nlohmann::ordered_json::error_handler_t::replace);
        // Configuration errors come one per line, each ending in '\n'.
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        std::cerr << "xdpsecctl: " << why << "\n";
    }
    if (cmd.json) {
        std::string doc = *raw;
        while (!doc.empty() && (doc.back() == '\n' || doc.back() == '\r')) doc.pop_back();
        std::cout << doc << "\n";
    } else if (error == reply.end()) {
        std::cout << render_reply(cmd.request.cmd, reply);
    }
    return error == reply.end() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        std::cerr << "xdpsecctl: " << e.what() << "\n";
        return 1;
    }
}
