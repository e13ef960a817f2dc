#include "control/control_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <vector>

namespace xdpsec::control {

namespace {

std::string errno_text(const std::string& what, int err) {
    return what + ": " + std::strerror(err);
}

std::string error_document(const std::string& why) {
    return nlohmann::json{{"error", why}}.dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace);
}

bool make_sockaddr(const std::string& path, sockaddr_un* addr) {
    std::memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (path.size() >= sizeof addr->sun_path) return false;
    std::memcpy(addr->sun_path, path.data(), path.size());
    return true;
}

// mkdir -p of the socket's directory; the directories it makes get 0755
// whatever the umask.
Expected<bool, std::string> make_parent_dirs(const std::string& path) {
    for (auto slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
        const std::string dir = path.substr(0, slash);
        if (::mkdir(dir.c_str(), 0755) == 0) {
            if (::chmod(dir.c_str(), 0755) != 0) return unexpected(errno_text("chmod " + dir, errno));
            continue;
        }
        if (errno != EEXIST) return unexpected(errno_text("mkdir " + dir, errno));
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0) return unexpected(errno_text("stat " + dir, errno));
        if (!S_ISDIR(st.st_mode)) return unexpected(dir + " exists and is not a directory");
    }
    return true;
}

// True when a process accepts connections on the socket at `path`.
bool someone_listens(const sockaddr_un& addr) {
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe) return false;
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
        return true;
    return errno == EAGAIN;  // a full backlog: alive, just busy
}

}  // namespace

ControlServer::ControlServer(std::string path, ControlHandler& handler,
                             ControlServerOptions options)
    : path_(std::move(path)), handler_(handler), options_(options) {}

Expected<std::unique_ptr<ControlServer>, std::string> ControlServer::open(
    const std::string& path, ControlHandler& handler, ControlServerOptions options) {
    if (path.empty() || path[0] != '/')
        return unexpected("control socket " + path + ": must be an absolute path");
    // Bound under a temporary name, made 0600, then renamed over the final
    // path: the socket appears there with its final mode, and a stale
    // socket file is replaced in one step.
    const std::string tmp = path + ".new" + std::to_string(::getpid());
    sockaddr_un addr{}, tmp_addr{};
    if (!make_sockaddr(path, &addr) || !make_sockaddr(tmp, &tmp_addr))
        return unexpected("control socket " + path + ": path too long for a Unix socket");
    if (auto made = make_parent_dirs(path); !made)
        return unexpected("control socket " + path + ": " + made.error());

    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return unexpected("control socket " + path + ": exists and is not a socket");
        if (someone_listens(addr))
            return unexpected("control socket " + path +
                              ": another process is listening on it (another xdpsecd?)");
    }

    std::unique_ptr<ControlServer> server(new ControlServer(path, handler, options));
    auto fail = [&](const std::string& what) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return Expected<std::unique_ptr<ControlServer>, std::string>(
            unexpected(errno_text("control socket " + path + ": " + what, err)));
    };
    server->listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!server->listener_) return fail("socket");
    ::unlink(tmp.c_str());
    if (::bind(server->listener_.get(), reinterpret_cast<const sockaddr*>(&tmp_addr),
               sizeof tmp_addr) != 0)
        return fail("bind");
    // Nobody can connect before listen(), so the umask's mode never matters.
    if (::chmod(tmp.c_str(), 0600) != 0) return fail("chmod");
    if (::listen(server->listener_.get(), 64) != 0) return fail("listen");
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
    if (::lstat(path.c_str(), &st) != 0) return fail("stat");
    server->dev_ = st.st_dev;
    server->ino_ = st.st_ino;

    server->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!server->epoll_) return fail("epoll_create1");
    server->timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!server->timer_) return fail("timerfd_create");
    for (int fd : {server->listener_.get(), server->timer_.get()}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (::epoll_ctl(server->epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
            return fail("epoll_ctl");
    }
    return server;
}

ControlServer::~ControlServer() {
    clients_.clear();
    struct stat st {};
    if (ino_ && ::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
        ::unlink(path_.c_str());
}

void ControlServer::handle_readable() {
    std::array<epoll_event, 32> events{};
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), 0);
    bool listener_ready = false;
    for (int i = 0; i < n; ++i) {
        const auto& ev = events[static_cast<std::size_t>(i)];
        if (ev.data.fd == listener_.get()) {
            listener_ready = true;
        } else if (ev.data.fd == timer_.get()) {
            uint64_t expirations = 0;
            [[maybe_unused]] auto r = ::read(timer_.get(), &expirations, sizeof expirations);
        } else {
            on_client_event(ev.data.fd, ev.events);
        }
    }
    // Accept last: a descriptor closed above may be reused by accept, and
    // must not receive the old connection's events from this batch.
    if (listener_ready) accept_clients();
    expire_clients();
    arm_timer();
}

void ControlServer::accept_clients() {
    while (true) {
        const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;  // EAGAIN; or EMFILE and the like: the next poll retries
        }
        UniqueFd owned(fd);
        if (clients_.size() >= options_.max_clients) {
            const auto busy = error_document("busy: too many control connections") + "\n";
            [[maybe_unused]] auto r = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.fd = fd;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) continue;
        Client c;
        c.fd = std::move(owned);
        c.deadline = std::chrono::steady_clock::now() + options_.client_deadline;
        clients_.emplace(fd, std::move(c));
    }
}

void ControlServer::on_client_event(int fd, uint32_t events) {
    const auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client& c = it->second;
    bool keep = true;
    if (!c.replying) {
        read_request(c);
        keep = c.replying ? c.out_done < c.out.size() : c.fd.get() >= 0;
    } else if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
        keep = flush(c);
    }
    if (!keep) close_client(fd);
}

void ControlServer::read_request(Client& c) {
    std::array<char, 4096> buf{};
    while (true) {
        const std::size_t room = options_.max_request_bytes + 1 - c.in.size();
        const ssize_t n = ::recv(c.fd.get(), buf.data(), std::min(buf.size(), room), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) c.fd.reset();  // closed below
            return;
        }
        if (n == 0) {  // EOF: whatever came is the request
            if (c.in.empty()) c.fd.reset();
            else reply(c, dispatch(c.in));
            return;
        }
        const std::size_t old = c.in.size();
        c.in.append(buf.data(), static_cast<std::size_t>(n));
        if (const auto nl = c.in.find('\n', old); nl != std::string::npos) {
            reply(c, dispatch(c.in.substr(0, nl)));
            return;
        }
        if (c.in.size() > options_.max_request_bytes) {
            reply(c, error_document("request larger than " +
                                    std::to_string(options_.max_request_bytes) + " bytes"));
            return;
        }
    }
}

void ControlServer::reply(Client& c, const std::string& document) {
    c.replying = true;
    c.in.clear();
    c.out = document + "\n";
    c.out_done = 0;
    if (flush(c)) {
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.fd = c.fd.get();
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) != 0) c.out_done = c.out.size();
    }
}

bool ControlServer::flush(Client& c) {
    while (c.out_done < c.out.size()) {
        const ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_done, c.out.size() - c.out_done,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
            c.out_done = c.out.size();  // the client went away: nothing more to send
            return false;
        }
        c.out_done += static_cast<std::size_t>(n);
    }
    return false;
}

void ControlServer::close_client(int fd) {
    const auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    // Drain what the client sent beyond its request: closing a Unix socket
    // with unread data makes the peer's next read fail with ECONNRESET
    // instead of seeing the end of the reply.
    if (it->second.fd) {
        std::array<char, 4096> sink{};
        for (int i = 0; i < 16; ++i)
            if (::recv(it->second.fd.get(), sink.data(), sink.size(), MSG_DONTWAIT) <= 0) break;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd.get(), nullptr);
    }
    clients_.erase(it);
}

void ControlServer::expire_clients() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<int> expired;
    for (auto& [fd, c] : clients_) {
        if (c.deadline > now) continue;
        if (!c.replying) {
            const auto why = error_document("no complete request within " +
                                            std::to_string(options_.client_deadline.count()) +
                                            " ms") + "\n";
            [[maybe_unused]] auto r =
                ::send(fd, why.data(), why.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        expired.push_back(fd);
    }
    for (int fd : expired) close_client(fd);
}

void ControlServer::arm_timer() {
    itimerspec spec{};
    if (!clients_.empty()) {
        auto earliest = clients_.begin()->second.deadline;
        for (const auto& [fd, c] : clients_) earliest = std::min(earliest, c.deadline);
        // steady_clock is CLOCK_MONOTONIC on Linux.
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            earliest.time_since_epoch()).count();
        spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
        if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    }
    ::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

std::string ControlServer::dispatch(const std::string& line) {
    auto request = decode_request(line);
    if (!request) return error_document(request.error());
    const auto& cmd = request->cmd;
    const auto& args = request->args;

    auto takes = [&](std::size_t n, const char* what) -> std::string {
        if (args.size() == n) return {};
        return cmd + ": expected " + what;
    };
    try {
        std::string usage;
        std::optional<ControlResult> result;
        if (cmd == "status") {
            if ((usage = takes(0, "no arguments")).empty()) result = handler_.status();
        } else if (cmd == "tunnel list") {
            if ((usage = takes(0, "no arguments")).empty()) result = handler_.tunnel_list();
        } else if (cmd == "tunnel up") {
            if ((usage = takes(1, "NAME")).empty()) result = handler_.tunnel_up(args[0]);
        } else if (cmd == "tunnel down") {
            if ((usage = takes(1, "NAME")).empty()) result = handler_.tunnel_down(args[0]);
        } else if (cmd == "tunnel rekey") {
            if (args.size() == 1 || (args.size() == 2 && (args[1] == "child" || args[1] == "ike")))
                result = handler_.tunnel_rekey(args[0], args.size() == 2 && args[1] == "ike");
            else
                usage = cmd + ": expected NAME, optionally followed by child or ike";
        } else if (cmd == "tunnel del") {
            if ((usage = takes(1, "NAME")).empty()) result = handler_.tunnel_del(args[0]);
        } else if (cmd == "tunnel add") {
            if (args.empty() || args.size() % 2 == 0) {
                usage = cmd + ": expected NAME followed by KEY VALUE pairs";
            } else {
                TunnelOptions options;
                for (std::size_t i = 1; i + 1 < args.size(); i += 2)
                    options.emplace_back(args[i], args[i + 1]);
                result = handler_.tunnel_add(args[0], options);
            }
        } else if (cmd == "sa list") {
            if ((usage = takes(0, "no arguments")).empty()) result = handler_.sa_list();
        } else if (cmd == "stats") {
            if ((usage = takes(0, "no arguments")).empty()) result = handler_.stats();
        } else if (cmd == "reload") {
            if ((usage = takes(0, "no arguments")).empty()) result = handler_.reload();
        } else {
            nlohmann::json name = cmd.substr(0, 64);
            return error_document("unknown command " +
                                  name.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
        if (!result) return error_document(usage);
        if (!*result) return error_document(result->error());
        return result->value().dump(-1, ' ', false,
                                    nlohmann::ordered_json::error_handler_t::replace);
    } catch (const std::exception& e) {
        return error_document(std::string("internal error: ") + e.what());
    } catch (...) {
        return error_document("internal error");
    }
}

}  // namespace xdpsec::control
