#include "daemon/log.h"

#include <syslog.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace xdpsec::daemon {

namespace {
bool g_syslog = false;
}

void log_to_syslog(bool on) {
    g_syslog = on;
    if (on) ::openlog("xdpsecd", LOG_PID, LOG_DAEMON);
}

void log(LogLevel level, const std::string& message) {
    if (g_syslog) {
        const int prio = level == LogLevel::error     ? LOG_ERR
                         : level == LogLevel::warning ? LOG_WARNING
                                                      : LOG_INFO;
        ::syslog(prio, "%s", message.c_str());
        return;
    }
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::localtime_r(&now, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    const char* tag = level == LogLevel::error ? "error" : level == LogLevel::warning ? "warning" : "info";
    std::fprintf(stderr, "%s xdpsecd %s: %s\n", ts, tag, message.c_str());
    std::fflush(stderr);
}

}  // namespace xdpsec::daemon
