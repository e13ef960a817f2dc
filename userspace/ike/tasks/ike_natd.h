// NAT detection (RFC 7296 §2.23): hashes of the SPIs with each side's
// address and port. A mismatch means a NAT in the path: IKE moves to port
// 4500 and ESP is UDP-encapsulated (RFC 3948).
#pragma once

#include "ike/tasks/task.h"

namespace xdpsec::ike {

class IkeNatd final : public Task {
public:
    explicit IkeNatd(IkeServices& services) : services_(services) {}
    std::string_view name() const override { return "ike_natd"; }
    TaskStatus build_i(IkeSa& sa, Message& request) override;
    TaskStatus process_i(IkeSa& sa, const Message& response) override;
    TaskStatus process_r(IkeSa& sa, const Message& request) override;
    TaskStatus build_r(IkeSa& sa, Message& response) override;

private:
    void process(IkeSa& sa, const Message& m);
    IkeServices& services_;
};

// SHA-1(SPIi | SPIr | IP | port), §2.23.
Bytes natd_hash(uint64_t spi_i, uint64_t spi_r, const Endpoint& e);

}  // namespace xdpsec::ike
