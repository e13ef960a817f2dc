// The control socket server (userspace/control/control_server.h) through a
// real Unix socket in a temporary directory, with a fake ControlHandler.
#include "control/control_server.h"
#include "control_fixture.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <stdexcept>

using namespace xdpsec;
using namespace xdpsec::control;
using nlohmann::json;

namespace {

struct FakeHandler : ControlHandler {
    std::vector<std::string> calls;
    TunnelOptions last_options;
    json status_reply = {{"version", "0.1.0"}, {"instance", "default"}};
    json sa_reply = {{"sas", json::array()}};

    ControlResult status() override {
        calls.push_back("status");
        return status_reply;
    }
    ControlResult tunnel_list() override {
        calls.push_back("tunnel list");
        return json{{"tunnels", json::array()}};
    }
    ControlResult tunnel_up(const std::string& name) override {
        calls.push_back("tunnel up " + name);
        if (name == "nope") return control_error("no tunnel 'nope'");
        return json{{"ok", true}};
    }
    ControlResult tunnel_down(const std::string& name) override {
        calls.push_back("tunnel down " + name);
        return json{{"ok", true}};
    }
    ControlResult tunnel_rekey(const std::string& name, bool ike) override {
        calls.push_back("tunnel rekey " + name + (ike ? " ike" : " child"));
        return json{{"ok", true}};
    }
    ControlResult tunnel_add(const std::string& name, const TunnelOptions& options) override {
        calls.push_back("tunnel add " + name);
        last_options = options;
        return json{{"ok", true}, {"message", "added " + name}};
    }
    ControlResult tunnel_del(const std::string& name) override {
        calls.push_back("tunnel del " + name);
        throw std::runtime_error("boom");
    }
    ControlResult sa_list() override {
        calls.push_back("sa list");
        return sa_reply;
    }
    ControlResult stats() override {
        calls.push_back("stats");
        return json{{"xdp", json::object()}, {"workers", json::array()}};
    }
    ControlResult reload() override {
        calls.push_back("reload");
        return json{{"ok", true}};
    }
};

json parse(const std::string& reply) {
    auto j = json::parse(reply, nullptr, false);
    CHECK_MESSAGE(!j.is_discarded(), "reply is not JSON: " << reply);
    CHECK_MESSAGE(reply.ends_with("\n"), reply);
    return j;
}

std::string error_of(ControlServer& s, const std::string& bytes) {
    const auto j = parse(test::exchange(s, bytes));
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "<no error>";
}

struct ServerFixture {
    test::TempDir dir;
    FakeHandler handler;
    std::string path = dir.path() + "/run/xdpsec/xdpsecd.sock";
    std::unique_ptr<ControlServer> server;

    explicit ServerFixture(ControlServerOptions options = {}) {
        auto s = ControlServer::open(path, handler, options);
        REQUIRE_MESSAGE(s.ok(), (s ? "" : s.error()));
        server = std::move(s).value();
    }
};

}  // namespace

TEST_CASE("control server: the socket file") {
    ServerFixture f;
    struct stat st {};
    REQUIRE(::lstat(f.path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);
    REQUIRE(::stat((f.dir.path() + "/run/xdpsec").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    REQUIRE(::stat((f.dir.path() + "/run").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);

    SUBCASE("a second server on a live socket is refused") {
        FakeHandler other;
        auto s = ControlServer::open(f.path, other);
        REQUIRE_FALSE(s.ok());
        CHECK(s.error() == "control socket " + f.path +
                               ": another process is listening on it (another xdpsecd?)");
    }
    SUBCASE("removed when the server goes") {
        f.server.reset();
        CHECK(::lstat(f.path.c_str(), &st) != 0);
    }
}

TEST_CASE("control server: a stale socket is replaced, anything else refused") {
    test::TempDir dir;
    FakeHandler handler;
    const std::string path = dir.path() + "/ctl.sock";
    {
        // A socket file left by a daemon that died: bound, nobody listening.
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.data(), path.size());
        REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
        ::close(fd);
    }
    {
        auto s = ControlServer::open(path, handler);
        REQUIRE_MESSAGE(s.ok(), (s ? "" : s.error()));
        CHECK(parse(test::exchange(**s, "{\"cmd\":\"status\"}\n"))["version"] == "0.1.0");
    }
    const auto file = dir.file("plain", "not a socket");
    auto s = ControlServer::open(file, handler);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error() == "control socket " + file + ": exists and is not a socket");
    CHECK(ControlServer::open("relative.sock", handler).error() ==
          "control socket relative.sock: must be an absolute path");
    CHECK(ControlServer::open("/tmp/" + std::string(120, 'x'), handler).error().ends_with(
        "path too long for a Unix socket"));
}

TEST_CASE("control server: requests reach the handler, replies come back") {
    ServerFixture f;
    ControlServer& s = *f.server;

    CHECK(parse(test::exchange(s, "{\"cmd\": \"status\", \"args\": []}\n")) == f.handler.status_reply);
    CHECK(parse(test::exchange(s, "{\"cmd\":\"tunnel list\"}\n"))["tunnels"] == json::array());
    CHECK(parse(test::exchange(s, "{\"cmd\":\"tunnel up\",\"args\":[\"site-b\"]}\n"))["ok"] == true);
    CHECK(parse(test::exchange(s, "{\"cmd\":\"tunnel down\",\"args\":[\"site-b\"]}\n"))["ok"] == true);
    CHECK(parse(test::exchange(s, "{\"cmd\":\"stats\"}\n")).contains("xdp"));
    CHECK(parse(test::exchange(s, "{\"cmd\":\"reload\"}\n"))["ok"] == true);
    CHECK(parse(test::exchange(s, encode_request({"tunnel rekey", {"site-b"}})))["ok"] == true);
    CHECK(parse(test::exchange(s, encode_request({"tunnel rekey", {"site-b", "ike"}})))["ok"] == true);
    CHECK(parse(test::exchange(s, encode_request({"sa list", {}})))["sas"] == json::array());
    const auto added = parse(test::exchange(
        s, encode_request({"tunnel add", {"site-c", "local", "192.0.2.1", "local-ts", "10.0.0.0/8"}})));
    CHECK(added["message"] == "added site-c");
    CHECK(f.handler.last_options == TunnelOptions{{"local", "192.0.2.1"}, {"local-ts", "10.0.0.0/8"}});
    CHECK(f.handler.calls == std::vector<std::string>{"status", "tunnel list", "tunnel up site-b",
                                                      "tunnel down site-b", "stats", "reload",
                                                      "tunnel rekey site-b child",
                                                      "tunnel rekey site-b ike", "sa list",
                                                      "tunnel add site-c"});
    // A request ended by EOF instead of a newline counts too.
    CHECK(parse(test::exchange(s, "{\"cmd\":\"status\"}"))["version"] == "0.1.0");
    CHECK(s.client_count() == 0);
}

TEST_CASE("control server: errors are replies, never crashes") {
    ServerFixture f;
    ControlServer& s = *f.server;
    CHECK(error_of(s, "{\"cmd\":\"tunnel up\",\"args\":[\"nope\"]}\n") == "no tunnel 'nope'");
    CHECK(error_of(s, "{\"cmd\":\"tunnel del\",\"args\":[\"x\"]}\n") == "internal error: boom");
    CHECK(error_of(s, "not json\n") == "malformed request: not JSON");
    CHECK(error_of(s, "{\"cmd\": \"status\"\n") == "malformed request: not JSON");
    CHECK(error_of(s, "[1,2]\n") == "malformed request: not a JSON object");
    CHECK(error_of(s, "{\"args\":[]}\n") == "malformed request: no \"cmd\" string");
    CHECK(error_of(s, "{\"cmd\":7}\n") == "malformed request: no \"cmd\" string");
    CHECK(error_of(s, "{\"cmd\":\"tunnel up\",\"args\":\"x\"}\n") ==
          "malformed request: \"args\" is not an array");
    CHECK(error_of(s, "{\"cmd\":\"tunnel up\",\"args\":[1]}\n") ==
          "malformed request: \"args\" holds a non-string");
    CHECK(error_of(s, "{\"cmd\":\"reboot\"}\n") == "unknown command \"reboot\"");
    CHECK(error_of(s, "{\"cmd\":\"tunnel up\"}\n") == "tunnel up: expected NAME");
    CHECK(error_of(s, encode_request({"tunnel rekey", {"x", "all"}})) ==
          "tunnel rekey: expected NAME, optionally followed by child or ike");
    CHECK(error_of(s, encode_request({"tunnel rekey", {}})) ==
          "tunnel rekey: expected NAME, optionally followed by child or ike");
    CHECK(error_of(s, "{\"cmd\":\"status\",\"args\":[\"x\"]}\n") == "status: expected no arguments");
    CHECK(error_of(s, "{\"cmd\":\"tunnel add\",\"args\":[\"x\",\"local\"]}\n") ==
          "tunnel add: expected NAME followed by KEY VALUE pairs");
    CHECK(error_of(s, std::string("{\"cmd\":\"\xff\xfe\"}\n")) == "malformed request: not JSON");

    SUBCASE("a request over the size limit") {
        const std::string big = "{\"cmd\":\"status\",\"pad\":\"" + std::string(70 * 1024, 'a');
        CHECK(error_of(s, big) == "request larger than 65536 bytes");
    }
    SUBCASE("a handler reply that is not valid UTF-8 is still valid JSON") {
        f.handler.status_reply = {{"version", std::string("\xff")}};
        CHECK(parse(test::exchange(s, "{\"cmd\":\"status\"}\n"))["version"] == "\xef\xbf\xbd");
    }
}

TEST_CASE("control server: a silent client holds up nobody and is cut off") {
    ServerFixture f(ControlServerOptions{std::chrono::milliseconds(1000)});
    ControlServer& s = *f.server;
    const int silent = test::connect_unix(f.path);
    REQUIRE(silent >= 0);
    const int half = test::connect_unix(f.path);
    REQUIRE(half >= 0);
    REQUIRE(::send(half, "{\"cmd\":", 7, 0) == 7);

    const auto start = std::chrono::steady_clock::now();
    CHECK(parse(test::exchange(s, "{\"cmd\":\"status\"}\n"))["version"] == "0.1.0");
    // Well before the others' deadline: the server did not wait for them.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(800));
    CHECK(s.client_count() == 2);

    // Their deadline passes: each gets an error and the end of the stream.
    const auto reply = test::pump_until_closed(s, silent);
    CHECK(parse(reply)["error"] == "no complete request within 1000 ms");
    CHECK(parse(test::pump_until_closed(s, half))["error"] == "no complete request within 1000 ms");
    CHECK(s.client_count() == 0);
    ::close(silent);
    ::close(half);
}

TEST_CASE("control server: too many clients get 'busy'") {
    ServerFixture f(ControlServerOptions{std::chrono::milliseconds(2000), kMaxRequestBytes, 1});
    ControlServer& s = *f.server;
    const int first = test::connect_unix(f.path);
    REQUIRE(first >= 0);
    CHECK(error_of(s, "{\"cmd\":\"status\"}\n") == "busy: too many control connections");
    REQUIRE(::send(first, "{\"cmd\":\"status\"}\n", 17, 0) == 17);
    CHECK(parse(test::pump_until_closed(s, first))["version"] == "0.1.0");
    ::close(first);
}

TEST_CASE("control server: a reply larger than the socket buffer arrives whole") {
    ServerFixture f;
    json sas = json::array();
    for (int i = 0; i < 4000; ++i)
        sas.push_back({{"name", "sa-" + std::to_string(i)}, {"pad", std::string(200, 'p')}});
    f.handler.sa_reply = {{"sas", sas}};
    const auto reply = parse(test::exchange(*f.server, "{\"cmd\":\"sa list\"}\n"));
    REQUIRE(reply["sas"].size() == 4000);
    CHECK(reply["sas"][3999]["name"] == "sa-3999");
}

TEST_CASE("control protocol: verdict reason names") {
    CHECK(verdict_reason_name(XDPSEC_REASON_PASS_IKE) == "pass_ike");
    CHECK(verdict_reason_name(XDPSEC_REASON_DROP_UNKNOWN_SPI) == "drop_unknown_spi");
    for (uint32_t r = 0; r < XDPSEC_REASON_COUNT; ++r)
        CHECK_MESSAGE(!verdict_reason_name(static_cast<xdpsec_verdict_reason>(r)).empty(),
                      "verdict reason " << r << " has no name in control_protocol.cpp");
    CHECK(verdict_reason_key(XDPSEC_REASON_COUNT + 7) ==
          "reason_" + std::to_string(XDPSEC_REASON_COUNT + 7));
    CHECK(sa_state_name(XDPSEC_SA_STATE_ACTIVE) == "active");
}
