// Helpers for the control-plane tests: a temporary directory, a file in it,
// and a synchronous exchange with a ControlServer driven from the test's
// own thread.
#pragma once

#include "control/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace xdpsec::test {

class TempDir {
public:
    TempDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "xdpsec-test-XXXXXX").string();
        if (::mkdtemp(templ.data())) path_ = templ;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name, const std::string& content) const {
        const std::string p = path_ + "/" + name;
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }

private:
    std::string path_;
};

// A connected client socket, or -1.
inline int connect_unix(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof addr.sun_path - 1));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Runs the server's side until `client` sees EOF (or `timeout` passes) and
// returns what the client read.
inline std::string pump_until_closed(control::ControlServer& server, int client,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        pollfd p[2] = {{server.fd(), POLLIN, 0}, {client, POLLIN, 0}};
        ::poll(p, 2, 50);
        if (p[0].revents & POLLIN) server.handle_readable();
        if (p[1].revents & (POLLIN | POLLHUP)) {
            char buf[65536];
            const ssize_t n = ::recv(client, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) got.append(buf, static_cast<std::size_t>(n));
            else if (n == 0 || (errno != EAGAIN && errno != EINTR)) return got;
        }
    }
    return got + "<timeout>";
}

// Connects, sends `bytes`, closes its sending side (as xdpsecctl does) and
// returns the whole reply.
inline std::string exchange(control::ControlServer& server, const std::string& bytes) {
    const int fd = connect_unix(server.path());
    if (fd < 0) return "<connect failed>";
    for (std::size_t sent = 0; sent < bytes.size();) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    auto reply = pump_until_closed(server, fd);
    ::close(fd);
    return reply;
}

}  // namespace xdpsec::test
