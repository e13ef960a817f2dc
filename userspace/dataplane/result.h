// Status of an operation that can fail at a kernel or library boundary:
// empty when it worked, otherwise a sentence an operator can act on.
#pragma once

#include <string>
#include <utility>

namespace xdpsec {

class [[nodiscard]] Status {
public:
    Status() = default;
    static Status error(std::string why) { return Status(std::move(why)); }
    explicit operator bool() const { return ok_; }
    bool ok() const { return ok_; }
    const std::string& message() const { return message_; }

private:
    explicit Status(std::string why) : ok_(false), message_(std::move(why)) {}
    bool ok_ = true;
    std::string message_;
};

// "what: strerror(errno)" for a negative errno or errno value.
std::string errno_text(const std::string& what, int err);

}  // namespace xdpsec
