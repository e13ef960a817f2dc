// xdpsecctl: argument parsing, human output, and the built binary against a
// ControlServer with a fake handler.
#include "cli/cli_args.h"
#include "cli/cli_render.h"
#include "control/control_server.h"
#include "control_fixture.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

extern char** environ;

using namespace xdpsec;
using namespace xdpsec::cli;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

CliCommand command_of(const std::vector<std::string>& args) {
    auto p = parse_cli_args(args);
    if (auto* bad = std::get_if<CliUsageError>(&p)) FAIL("usage error: " << bad->message);
    REQUIRE(std::holds_alternative<CliCommand>(p));
    return std::get<CliCommand>(p);
}

std::string usage_error_of(const std::vector<std::string>& args) {
    auto p = parse_cli_args(args);
    if (auto* bad = std::get_if<CliUsageError>(&p)) return bad->message;
    return "<no usage error>";
}

}  // namespace

TEST_CASE("xdpsecctl arguments: every command of DESIGN.md") {
    using Args = std::vector<std::string>;
    auto c = command_of({"status"});
    CHECK(c.socket == "/run/xdpsec/xdpsecd.sock");
    CHECK_FALSE(c.json);
    CHECK(c.request.cmd == "status");
    CHECK(c.request.args.empty());

    c = command_of({"--socket", "/tmp/a.sock", "--json", "tunnel", "list"});
    CHECK(c.socket == "/tmp/a.sock");
    CHECK(c.json);
    CHECK(c.request.cmd == "tunnel list");

    for (const char* sub : {"up", "down", "rekey", "del"}) {
        c = command_of({"tunnel", sub, "site-b"});
        CHECK(c.request.cmd == std::string("tunnel ") + sub);
        CHECK(c.request.args == Args{"site-b"});
    }
    c = command_of({"tunnel", "rekey", "site-b", "ike"});
    CHECK(c.request.cmd == "tunnel rekey");
    CHECK(c.request.args == Args{"site-b", "ike"});
    c = command_of({"--socket=/tmp/b.sock", "tunnel", "add", "site-c", "--local", "192.0.2.1",
                    "--local-ts=10.1.0.0/24", "--psk", "-starts-with-dash", "--json"});
    CHECK(c.socket == "/tmp/b.sock");
    CHECK(c.json);
    CHECK(c.request.cmd == "tunnel add");
    CHECK(c.request.args ==
          Args{"site-c", "local", "192.0.2.1", "local-ts", "10.1.0.0/24", "psk", "-starts-with-dash"});
    CHECK(command_of({"sa", "list"}).request.cmd == "sa list");
    CHECK(command_of({"stats", "--json"}).json);
    CHECK(command_of({"reload"}).request.cmd == "reload");
    CHECK(std::holds_alternative<CliInfo>(parse_cli_args({"--help"})));
    CHECK(std::holds_alternative<CliInfo>(parse_cli_args({"status", "-h"})));
}

TEST_CASE("xdpsecctl arguments: mistakes are usage errors") {
    CHECK(usage_error_of({}) == "missing COMMAND");
    CHECK(usage_error_of({"--json"}) == "missing COMMAND");
    CHECK(usage_error_of({"statu"}) == "unknown command 'statu'");
    CHECK(usage_error_of({"--jsn", "status"}) == "unknown option '--jsn'");
    CHECK(usage_error_of({"status", "-v"}) == "unknown option '-v'");
    CHECK(usage_error_of({"--socket"}) == "--socket needs a PATH");
    CHECK(usage_error_of({"--socket=", "status"}) == "--socket needs a PATH");
    CHECK(usage_error_of({"status", "now"}) == "status takes no arguments");
    CHECK(usage_error_of({"tunnel"}) == "tunnel: missing subcommand (list, up, down, rekey, add, del)");
    CHECK(usage_error_of({"tunnel", "rekey"}) == "tunnel rekey: missing NAME");
    CHECK(usage_error_of({"tunnel", "rekey", "x", "esp"}) ==
          "tunnel rekey: expected child or ike after NAME, got 'esp'");
    CHECK(usage_error_of({"tunnel", "rekey", "x", "ike", "now"}) == "tunnel rekey: too many arguments");
    CHECK(usage_error_of({"tunnel", "start", "x"}) == "tunnel: unknown subcommand 'start'");
    CHECK(usage_error_of({"tunnel", "up"}) == "tunnel up: missing NAME");
    CHECK(usage_error_of({"tunnel", "del"}) == "tunnel del: missing NAME");
    CHECK(usage_error_of({"tunnel", "down", "a", "b"}) == "tunnel down: too many arguments");
    CHECK(usage_error_of({"tunnel", "list", "x"}) == "tunnel list takes no arguments");
    CHECK(usage_error_of({"tunnel", "add"}) == "tunnel add: missing NAME");
    CHECK(usage_error_of({"tunnel", "add", "--local", "1.2.3.4"}) ==
          "tunnel add: missing NAME before the --KEY VALUE options");
    CHECK(usage_error_of({"tunnel", "add", "x", "local", "1.2.3.4"}) ==
          "tunnel add: expected --KEY VALUE, got 'local'");
    CHECK(usage_error_of({"tunnel", "add", "x", "--local"}) == "tunnel add: --local needs a value");
    CHECK(usage_error_of({"tunnel", "add", "x", "--=v"}) == "tunnel add: expected --KEY VALUE, got '--=v'");
    CHECK(usage_error_of({"sa"}) == "sa: missing subcommand (list)");
    CHECK(usage_error_of({"sa", "flush"}) == "sa: unknown subcommand 'flush'");
}

TEST_CASE("xdpsecctl output: sa list, stats, status") {
    SUBCASE("sa list: one row per SA, SPI as 0x%08x, non-zero drops by name") {
        const auto reply = ordered_json::parse(R"({"sas": [
            {"tunnel": "site-b", "name": "site-b-in", "direction": "in", "spi": "0xc001",
             "mode": "tunnel", "alg": "aes128gcm16", "local_ts": ["10.1.0.0/24"],
             "remote_ts": ["10.2.0.0/24", "10.3.0.0/24"], "packets": 12, "bytes": 3456,
             "state": "active", "drops": {"auth_failed": 3, "replayed": 0, "too_old": 1}},
            {"tunnel": "", "name": "manual-out", "direction": "out", "spi": 49154,
             "mode": "transport", "alg": "aes256-sha256", "local_ts": ["192.0.2.1/32"],
             "remote_ts": ["192.0.2.2/32"], "packets": 0, "bytes": 0, "state": "active",
             "drops": {}}]})");
        const auto text = render_reply("sa list", reply);
        std::istringstream lines(text);
        std::string header, row1, row2, extra;
        std::getline(lines, header);
        std::getline(lines, row1);
        std::getline(lines, row2);
        CHECK_FALSE(std::getline(lines, extra));
        CHECK(header.starts_with("TUNNEL"));
        for (const char* col : {"NAME", "DIR", "SPI", "MODE", "ALG", "LOCAL_TS", "REMOTE_TS",
                                "PACKETS", "BYTES", "STATE", "DROPS"})
            CHECK_MESSAGE(header.find(col) != std::string::npos, col);
        for (const char* cell : {"site-b", "site-b-in", "in", "0x0000c001", "tunnel", "aes128gcm16",
                                 "10.1.0.0/24", "10.2.0.0/24,10.3.0.0/24", "12", "3456", "active",
                                 "auth_failed=3 too_old=1"})
            CHECK_MESSAGE(row1.find(cell) != std::string::npos, cell << " in " << row1);
        CHECK(row1.find("replayed") == std::string::npos);
        CHECK(row2.find("0x0000c002") != std::string::npos);
        CHECK(row2.starts_with("-"));
        CHECK(row2.ends_with("-"));
        CHECK(render_reply("sa list", ordered_json::parse(R"({"sas": []})")) == "no SAs\n");
    }
    SUBCASE("stats: verdicts by name and per-worker counters") {
        const auto reply = ordered_json::parse(R"({
            "xdp": {"pass_ike": {"packets": 4, "bytes": 512},
                    "drop_unknown_spi": {"packets": 2, "bytes": 180}},
            "workers": [{"id": 0, "rx_packets": 10, "encrypted": 7},
                        {"id": 1, "rx_packets": 3, "encrypted": 1, "decrypted": 2}]})");
        const auto text = render_reply("stats", reply);
        CHECK(text ==
              "XDP verdicts\n"
              "VERDICT           PACKETS  BYTES\n"
              "pass_ike                4    512\n"
              "drop_unknown_spi        2    180\n"
              "\n"
              "Workers\n"
              "COUNTER     WORKER 0  WORKER 1\n"
              "rx_packets        10         3\n"
              "encrypted          7         1\n"
              "decrypted          -         2\n");
        const auto events = ordered_json::parse(R"({"events": {
            "unknown_spi": {"emitted": 64, "rate_limited": 936, "ring_full": 0},
            "acquire": {"emitted": 1, "rate_limited": 0, "ring_full": 0}}})");
        CHECK(render_reply("stats", events) ==
              "Data-plane events\n"
              "EVENT        EMITTED  RATE_LIMITED  RING_FULL\n"
              "unknown_spi       64           936          0\n"
              "acquire            1             0          0\n");
    }
    SUBCASE("status: key: value lines in the daemon's order") {
        const auto reply = ordered_json::parse(
            R"({"version": "0.1.0", "instance": "default", "uplink": "eth0", "workers": 2})");
        CHECK(render_reply("status", reply) ==
              "version: 0.1.0\ninstance: default\nuplink: eth0\nworkers: 2\n");
    }
    SUBCASE("actions print the message, or ok") {
        CHECK(render_reply("tunnel up", ordered_json::parse(R"({"ok": true})")) == "ok\n");
        CHECK(render_reply("reload", ordered_json::parse(R"({"ok": true, "message": "2 tunnels"})")) ==
              "2 tunnels\n");
    }
    SUBCASE("an unexpected shape is shown as JSON, not half a table") {
        CHECK(render_reply("sa list", ordered_json::parse(R"({"sa": 1})")) == "{\n  \"sa\": 1\n}\n");
    }
    CHECK(format_spi("0xC001") == "0x0000c001");
    CHECK(format_spi(json(4294967295u)) == "0xffffffff");
    CHECK(format_spi("garbage").empty());
}

#ifdef XDPSECCTL_PATH
namespace {

struct Run {
    int status = -1;
    std::string out, err;
};

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Run run_ctl(const test::TempDir& dir, const std::vector<std::string>& args) {
    std::vector<std::string> argv_s = {XDPSECCTL_PATH};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string out = dir.path() + "/stdout", err = dir.path() + "/stderr";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = -1;
    Run r;
    if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0) {
        int st = 0;
        ::waitpid(pid, &st, 0);
        r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    posix_spawn_file_actions_destroy(&fa);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

// A fake daemon: a ControlServer polled by its own thread.
struct FakeDaemon : control::ControlHandler {
    test::TempDir dir;
    std::string path = dir.path() + "/xdpsecd.sock";
    std::unique_ptr<control::ControlServer> server;
    std::atomic<bool> stop{false};
    std::thread loop;
    std::mutex mutex;
    control::TunnelOptions added;  // written by the loop thread

    FakeDaemon() {
        auto s = control::ControlServer::open(path, *this);
        REQUIRE(s.ok());
        server = std::move(s).value();
        loop = std::thread([this] {
            while (!stop) {
                pollfd p{server->fd(), POLLIN, 0};
                if (::poll(&p, 1, 20) > 0) server->handle_readable();
            }
        });
    }
    ~FakeDaemon() override {
        stop = true;
        loop.join();
    }

    control::ControlResult status() override {
        return ordered_json{{"version", "0.1.0"}, {"instance", "test"}, {"uptime_s", 5}};
    }
    control::ControlResult tunnel_list() override { return json{{"tunnels", json::array()}}; }
    control::ControlResult tunnel_up(const std::string& n) override {
        return control::control_error("no tunnel '" + n + "'");
    }
    control::ControlResult tunnel_down(const std::string&) override { return json{{"ok", true}}; }
    control::ControlResult tunnel_rekey(const std::string&, bool) override { return json{{"ok", true}}; }
    control::ControlResult tunnel_add(const std::string&, const control::TunnelOptions& o) override {
        std::lock_guard lock(mutex);
        added = o;
        return json{{"ok", true}, {"message", "tunnel added"}};
    }
    control::ControlResult tunnel_del(const std::string&) override { return json{{"ok", true}}; }
    control::ControlResult sa_list() override {
        return json::parse(R"({"sas": [{"tunnel": "t", "name": "t-out", "direction": "out",
            "spi": "0x1234", "mode": "tunnel", "alg": "aes128gcm16", "local_ts": ["10.1.0.0/24"],
            "remote_ts": ["10.2.0.0/24"], "packets": 1, "bytes": 84, "state": "active",
            "drops": {}}]})");
    }
    control::ControlResult stats() override { return json{{"xdp", json::object()}}; }
    control::ControlResult reload() override { return json{{"ok", true}}; }
};

}  // namespace

TEST_CASE("xdpsecctl binary: exit codes and messages") {
    test::TempDir dir;
    SUBCASE("bad arguments: usage on stderr, exit 2") {
        for (const auto& args : std::vector<std::vector<std::string>>{
                 {}, {"frobnicate"}, {"--bogus", "status"}, {"tunnel", "up"}, {"sa"}}) {
            const auto r = run_ctl(dir, args);
            CHECK(r.status == 2);
            CHECK(r.out.empty());
            CHECK(r.err.starts_with("xdpsecctl: "));
            CHECK(r.err.find("usage: xdpsecctl [--socket PATH] [--json] COMMAND") != std::string::npos);
        }
    }
    SUBCASE("no daemon: the socket path is named, exit 1") {
        const auto sock = dir.path() + "/nobody.sock";
        const auto r = run_ctl(dir, {"--socket", sock, "status"});
        CHECK(r.status == 1);
        CHECK(r.err == "xdpsecctl: cannot connect to xdpsecd at " + sock +
                           ": No such file or directory (is xdpsecd running?)\n");
    }
    SUBCASE("--help") {
        const auto r = run_ctl(dir, {"--help"});
        CHECK(r.status == 0);
        CHECK(r.out.starts_with("usage: xdpsecctl"));
    }
}

TEST_CASE("xdpsecctl binary: against a daemon") {
    FakeDaemon d;
    test::TempDir out;
    SUBCASE("--json prints the reply as one document") {
        const auto r = run_ctl(out, {"--socket", d.path, "--json", "sa", "list"});
        CHECK(r.status == 0);
        const auto j = json::parse(r.out);
        CHECK(j["sas"][0]["spi"] == "0x1234");
        CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
    }
    SUBCASE("human output") {
        const auto r = run_ctl(out, {"--socket", d.path, "sa", "list"});
        CHECK(r.status == 0);
        CHECK(r.out.find("0x00001234") != std::string::npos);
        const auto s = run_ctl(out, {"--socket", d.path, "status"});
        CHECK(s.out == "version: 0.1.0\ninstance: test\nuptime_s: 5\n");
    }
    SUBCASE("an error reply: message on stderr, exit 1") {
        const auto r = run_ctl(out, {"--socket", d.path, "tunnel", "up", "ghost"});
        CHECK(r.status == 1);
        CHECK(r.err == "xdpsecctl: no tunnel 'ghost'\n");
        const auto j = run_ctl(out, {"--socket", d.path, "--json", "tunnel", "up", "ghost"});
        CHECK(j.status == 1);
        CHECK(json::parse(j.out)["error"] == "no tunnel 'ghost'");
    }
    SUBCASE("tunnel add passes --KEY VALUE pairs on") {
        const auto r = run_ctl(out, {"--socket", d.path, "tunnel", "add", "site-c", "--local",
                                     "192.0.2.1", "--local-ts", "10.1.0.0/24"});
        CHECK(r.status == 0);
        CHECK(r.out == "tunnel added\n");
        std::lock_guard lock(d.mutex);
        CHECK(d.added == control::TunnelOptions{{"local", "192.0.2.1"}, {"local-ts", "10.1.0.0/24"}});
    }
}
#endif
