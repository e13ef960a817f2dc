#include "daemon/key_export.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace xdpsec::daemon {

namespace {

std::string hex(std::span<const uint8_t> b) {
    static constexpr char d[] = "0123456789abcdef";
    std::string s;
    for (auto c : b) {
        s += d[c >> 4];
        s += d[c & 15];
    }
    return s;
}

}  // namespace

std::string KeyExporter::add_sa(const ike::ChildSaInstall& sa) {
    auto r = inner_.add_sa(sa);
    if (!r.empty()) return r;
    const auto& c = sa.config;
    nlohmann::json j{{"name", sa.name},
                     {"spi", esp::spi_text(c.spi)},
                     {"direction", c.direction == esp::SaDirection::inbound ? "in" : "out"},
                     {"alg", c.algorithm.name()},
                     {"mode", c.mode == esp::Mode::transport ? "transport" : "tunnel"},
                     {"esn", c.esn},
                     {"local", c.local.to_string()},
                     {"remote", c.remote.to_string()},
                     {"encap", c.udp_encap ? nlohmann::json{c.udp_encap->local_port, c.udp_encap->remote_port}
                                           : nlohmann::json(nullptr)},
                     {"enc_key", hex(c.enc_key.view())},
                     {"integ_key", hex(c.integ_key.view())}};
    std::string line = j.dump() + "\n";
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        [[maybe_unused]] const auto n = ::write(fd, line.data(), line.size());
        ::close(fd);
    }
    std::fill(line.begin(), line.end(), '\0');
    return {};
}

}  // namespace xdpsec::daemon
