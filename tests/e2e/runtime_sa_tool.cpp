// A Dataplane driven line by line from stdin, for test_runtime_sa.py: it
// starts with no SA at all (as under IKE) and installs and removes SAs while
// the workers run, through the KernelAdapter the IKE engine will use.
//
//   runtime_sa_tool --uplink IF --tunnel-if NAME --pin-dir DIR
//
// Prints "ready MTU" once started, then answers each command with one line,
// "ok ..." or "error WHY":
//   add NAME SPI in|out ESP ENC_HEX INTEG_HEX|- LOCAL REMOTE LOCAL_TS REMOTE_TS
//                              (tunnel mode, no UDP encapsulation)
//   del SPI in|out             ok
//   usage SPI in|out           ok FOUND PACKETS BYTES
//   resolved                   ok 1 when every outbound SA has its next hop, else ok 0
//   quit
// Between commands it runs Dataplane::maintain() every 200 ms. EOF on stdin,
// SIGTERM and SIGINT end it like quit: the Dataplane's destructor removes
// the tunnel device, the XDP programs and the pins. Test keys only.
#include "dataplane/dataplane.h"
#include "dataplane/kernel_adapter.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace xdpsec;

namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

void reply(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

std::optional<std::vector<uint8_t>> from_hex(const std::string& s) {
    if (s == "-") return std::vector<uint8_t>{};
    if (s.size() % 2) return std::nullopt;
    std::vector<uint8_t> out;
    for (std::size_t i = 0; i < s.size(); i += 2) {
        unsigned v = 0;
        if (std::sscanf(s.c_str() + i, "%2x", &v) != 1) return std::nullopt;
        out.push_back(static_cast<uint8_t>(v));
    }
    return out;
}

std::optional<esp::SaDirection> direction(const std::string& s) {
    if (s == "in") return esp::SaDirection::inbound;
    if (s == "out") return esp::SaDirection::outbound;
    return std::nullopt;
}

std::optional<uint32_t> spi(const std::string& s) {
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(s.c_str(), &end, 0);
    if (errno || !end || *end || v > 0xffffffffUL) return std::nullopt;
    return static_cast<uint32_t>(v);
}

std::string add(dataplane::KernelAdapter& kernel, std::istringstream& in) {
    std::string name, spi_s, dir_s, alg_s, enc_s, integ_s, local_s, remote_s, lts_s, rts_s;
    if (!(in >> name >> spi_s >> dir_s >> alg_s >> enc_s >> integ_s >> local_s >> remote_s >> lts_s >>
          rts_s))
        return "error add: missing arguments";
    ike::ChildSaInstall sa;
    sa.name = name;
    auto& c = sa.config;
    auto s = spi(spi_s);
    auto d = direction(dir_s);
    auto alg = esp::Algorithm::parse(alg_s);
    auto enc = from_hex(enc_s), integ = from_hex(integ_s);
    auto local = esp::IpAddress::parse(local_s), remote = esp::IpAddress::parse(remote_s);
    std::string why;
    auto lts = esp::IpPrefix::parse(lts_s, &why), rts = esp::IpPrefix::parse(rts_s, &why);
    if (!s || !d || !alg || !enc || !integ || !local || !remote || !lts || !rts)
        return "error add: bad argument " + why;
    c.spi = *s;
    c.direction = *d;
    c.mode = esp::Mode::tunnel;
    c.local = *local;
    c.remote = *remote;
    c.algorithm = *alg;
    c.enc_key.assign(*enc);
    c.integ_key.assign(*integ);
    sa.local_ts = {*lts};
    sa.remote_ts = {*rts};
    const std::string err = kernel.add_sa(sa);
    return err.empty() ? "ok" : "error " + err;
}

std::string handle(const std::string& line, dataplane::Dataplane& dp, dataplane::KernelAdapter& kernel) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "add") return add(kernel, in);
    if (cmd == "del" || cmd == "usage") {
        std::string spi_s, dir_s;
        in >> spi_s >> dir_s;
        auto s = spi(spi_s);
        auto d = direction(dir_s);
        if (!s || !d) return "error " + cmd + ": SPI in|out";
        if (cmd == "del") {
            kernel.del_sa(*s, *d);
            return "ok";
        }
        const auto u = kernel.usage(*s, *d);
        return "ok " + std::to_string(u.found ? 1 : 0) + " " + std::to_string(u.packets) + " " +
               std::to_string(u.bytes);
    }
    if (cmd == "resolved") {
        for (const auto& r : dp.sa_report())
            if (r.config->direction == esp::SaDirection::outbound && r.next_hop == "unresolved")
                return "ok 0";
        return "ok 1";
    }
    return "error unknown command " + cmd;
}

}  // namespace

int main(int argc, char** argv) {
    dataplane::DataplaneOptions o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--uplink") o.uplink = v;
        else if (k == "--tunnel-if") o.tunnel_if = v;
        else if (k == "--pin-dir") o.pin_dir = v;
        else {
            std::fprintf(stderr, "unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if (o.uplink.empty() || o.tunnel_if.empty() || o.pin_dir.empty()) {
        std::fprintf(stderr, "usage: %s --uplink IF --tunnel-if NAME --pin-dir DIR\n", argv[0]);
        return 2;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);

    std::string err;
    auto dp = dataplane::Dataplane::create(o, &err);
    if (!dp) {
        reply("error " + err);
        return 1;
    }
    if (auto st = dp->start(); !st) {
        reply("error " + st.message());
        return 1;
    }
    dataplane::KernelAdapter kernel(*dp, [](const std::string& w) {
        std::fprintf(stderr, "del_sa: %s\n", w.c_str());
    });
    reply("ready " + std::to_string(dp->tunnel_mtu()));

    std::string pending;
    while (!g_stop) {
        pollfd fd{STDIN_FILENO, POLLIN, 0};
        const int n = ::poll(&fd, 1, 200);
        if (n <= 0) {
            dp->maintain();
            continue;
        }
        char buf[4096];
        const ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
        if (got <= 0) break;  // EOF: the test is gone
        pending.append(buf, static_cast<std::size_t>(got));
        bool quit = false;
        for (std::size_t nl; !quit && (nl = pending.find('\n')) != std::string::npos;) {
            const std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            if (line == "quit") quit = true;
            else reply(handle(line, *dp, kernel));
        }
        if (quit) break;
    }
    dp.reset();
    reply("bye");
    return 0;
}
