// xdpsecctl's human-readable output: the daemon's JSON replies
// (control_protocol.h) as tables and key: value lines.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace xdpsec::cli {

// The text for a successful reply to request `cmd` ("sa list", "stats", …).
// A reply of an unexpected shape is printed as indented JSON rather than
// half a table.
std::string render_reply(std::string_view cmd, const nlohmann::ordered_json& reply);

// "0x0000c001" from "0xc001", "49153" or 49153; empty when the value is no
// 32-bit number.
std::string format_spi(const nlohmann::ordered_json& spi);

}  // namespace xdpsec::cli
