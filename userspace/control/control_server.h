// The daemon's end of the control socket: a non-blocking Unix stream
// listener that serves one request per connection (control_protocol.h) by
// calling a ControlHandler.
//
// It fits a poll() loop with one descriptor: fd() is an epoll instance that
// holds the listener, every client connection and a timer for client
// deadlines, so it turns readable whenever there is work:
//
//     pollfd p{server->fd(), POLLIN, 0};
//     ... poll(...) ...
//     if (p.revents & POLLIN) server->handle_readable();
//
// handle_readable() never blocks and never throws. A client that connects
// and sends nothing, or does not read its reply, is cut off at its deadline
// without holding up anyone else.
#pragma once

#include "control/control_handler.h"
#include "control/control_protocol.h"
#include "control/expected.h"
#include "dataplane/unique_fd.h"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

namespace xdpsec::control {

struct ControlServerOptions {
    // From accept to the last byte of the reply.
    std::chrono::milliseconds client_deadline{2000};
    std::size_t max_request_bytes = kMaxRequestBytes;
    std::size_t max_clients = 16;  // beyond this, new clients get {"error": "busy"}
};

class ControlServer {
public:
    // Creates the socket's parent directories (mode 0755) and the socket
    // (mode 0600), replacing a stale socket file. Refuses a path that is not a
    // socket, or on which another process still listens.
    static Expected<std::unique_ptr<ControlServer>, std::string> open(
        const std::string& path, ControlHandler& handler, ControlServerOptions options = {});

    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;
    // Closes every connection and removes the socket file, if it is still ours.
    ~ControlServer();

    int fd() const { return epoll_.get(); }
    void handle_readable();

    const std::string& path() const { return path_; }
    std::size_t client_count() const { return clients_.size(); }

private:
    struct Client {
        UniqueFd fd;
        std::chrono::steady_clock::time_point deadline;
        std::string in;
        std::string out;
        std::size_t out_done = 0;
        bool replying = false;
    };

    ControlServer(std::string path, ControlHandler& handler, ControlServerOptions options);
    void accept_clients();
    void on_client_event(int fd, uint32_t events);
    void read_request(Client& c);
    void reply(Client& c, const std::string& document);
    // False when the client is done (sent or failed) and should be closed.
    bool flush(Client& c);
    void close_client(int fd);
    void expire_clients();
    void arm_timer();
    std::string dispatch(const std::string& line);

    std::string path_;
    dev_t dev_ = 0;  // of the socket file we made, so we never unlink another's
    ino_t ino_ = 0;
    ControlHandler& handler_;
    ControlServerOptions options_;
    UniqueFd epoll_;
    UniqueFd listener_;
    UniqueFd timer_;
    std::map<int, Client> clients_;
};

}  // namespace xdpsec::control
