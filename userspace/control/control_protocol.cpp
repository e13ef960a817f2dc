#include "control/control_protocol.h"

#include <nlohmann/json.hpp>

namespace xdpsec::control {

std::string encode_request(const ControlRequest& request) {
    nlohmann::json j = {{"cmd", request.cmd}, {"args", request.args}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Expected<ControlRequest, std::string> decode_request(std::string_view line) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return unexpected(std::string("malformed request: not JSON"));
    if (!j.is_object()) return unexpected(std::string("malformed request: not a JSON object"));
    ControlRequest r;
    const auto cmd = j.find("cmd");
    if (cmd == j.end() || !cmd->is_string())
        return unexpected(std::string("malformed request: no \"cmd\" string"));
    r.cmd = cmd->get<std::string>();
    if (const auto args = j.find("args"); args != j.end() && !args->is_null()) {
        if (!args->is_array())
            return unexpected(std::string("malformed request: \"args\" is not an array"));
        for (const auto& a : *args) {
            if (!a.is_string())
                return unexpected(std::string("malformed request: \"args\" holds a non-string"));
            r.args.push_back(a.get<std::string>());
        }
    }
    return r;
}

std::string_view verdict_reason_name(enum xdpsec_verdict_reason reason) {
    if (static_cast<uint32_t>(reason) >= XDPSEC_REASON_COUNT) return {};
    return xdpsec_verdict_reason_name(reason);  // bpf_abi.h: the one list, kept whole by -Wswitch
}

std::string verdict_reason_key(uint32_t r) {
    const auto name = verdict_reason_name(static_cast<enum xdpsec_verdict_reason>(r));
    return name.empty() ? "reason_" + std::to_string(r) : std::string(name);
}

std::string_view sa_state_name(enum xdpsec_sa_state state) {
    switch (state) {
    case XDPSEC_SA_STATE_FREE: return "free";
    case XDPSEC_SA_STATE_ACTIVE: return "active";
    case XDPSEC_SA_STATE_EXPIRED: return "expired";
    }
    return "unknown";
}

}  // namespace xdpsec::control
