// xdpsecctl's end of the control socket: one request, one reply.
#pragma once

#include "control/expected.h"

#include <chrono>
#include <string>

namespace xdpsec::cli {

struct ClientError {
    bool unreachable = false;  // no daemon at the path (vs. a failure mid-request)
    std::string message;       // names the socket path
};

// Sends `request_line` (with its '\n') and returns everything the daemon
// wrote before closing the connection.
control::Expected<std::string, ClientError> send_request(const std::string& socket_path,
                                                         const std::string& request_line,
                                                         std::chrono::milliseconds timeout);

}  // namespace xdpsec::cli
