#include "cli/control_client.h"

#include "dataplane/unique_fd.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace xdpsec::cli {

namespace {

constexpr std::size_t kMaxReplyBytes = 64u << 20;

control::Unexpected<ClientError> failure(bool unreachable, std::string message) {
    return control::unexpected(ClientError{unreachable, std::move(message)});
}

}  // namespace

control::Expected<std::string, ClientError> send_request(const std::string& socket_path,
                                                         const std::string& request_line,
                                                         std::chrono::milliseconds timeout) {
    const std::string where = "xdpsecd at " + socket_path;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path)
        return failure(true, "cannot connect to " + where + ": path too long for a Unix socket");
    std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return failure(false, std::string("socket: ") + std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        std::string hint = err == ENOENT || err == ECONNREFUSED ? " (is xdpsecd running?)" : "";
        return failure(true, "cannot connect to " + where + ": " + std::strerror(err) + hint);
    }

    // A daemon that refuses the request early (too large) closes its end;
    // its reply is still worth reading, so a failed send is not the end.
    for (std::size_t sent = 0; sent < request_line.size();) {
        const ssize_t n = ::send(fd.get(), request_line.data() + sent, request_line.size() - sent,
                                 MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd.get(), SHUT_WR);

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string reply;
    std::array<char, 8192> buf{};
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return failure(false, "no reply from " + where + " within " +
                                      std::to_string(timeout.count() / 1000) + " s");
        pollfd p{fd.get(), POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return failure(false, std::string("poll: ") + std::strerror(errno));
        if (ready == 0) continue;
        const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (n < 0 && errno == ECONNRESET && !reply.empty())) break;
        if (n < 0)
            return failure(false, "reading the reply of " + where + ": " + std::strerror(errno));
        reply.append(buf.data(), static_cast<std::size_t>(n));
        if (reply.size() > kMaxReplyBytes)
            return failure(false, "reply of " + where + " larger than " +
                                      std::to_string(kMaxReplyBytes) + " bytes");
    }
    if (reply.empty()) return failure(false, where + " closed the connection without a reply");
    return reply;
}

}  // namespace xdpsec::cli
