// xdpsecd's log: stderr in the foreground, syslog as a daemon. Callers never
// pass key material; the ESP engine and config never put any in messages.
#pragma once

#include <string>

namespace xdpsec::daemon {

enum class LogLevel { info, warning, error };

void log_to_syslog(bool on);
void log(LogLevel level, const std::string& message);
inline void log_info(const std::string& m) { log(LogLevel::info, m); }
inline void log_warning(const std::string& m) { log(LogLevel::warning, m); }
inline void log_error(const std::string& m) { log(LogLevel::error, m); }

}  // namespace xdpsec::daemon
