#include "ike/tasks/ike_natd.h"

#include <openssl/evp.h>

namespace xdpsec::ike {

namespace {

void put64(Bytes& b, uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

void add_hashes(const IkeSa& sa, Message& m) {
    add_notify(m, NotifyType::nat_detection_source_ip, natd_hash(sa.spi_i, sa.spi_r, sa.local));
    add_notify(m, NotifyType::nat_detection_destination_ip,
               natd_hash(sa.spi_i, sa.spi_r, sa.remote));
}

}  // namespace

Bytes natd_hash(uint64_t spi_i, uint64_t spi_r, const Endpoint& e) {
    Bytes in;
    put64(in, spi_i);
    put64(in, spi_r);
    in.insert(in.end(), e.addr.bytes.begin(), e.addr.bytes.begin() + e.addr.length());
    in.push_back(static_cast<uint8_t>(e.port >> 8));
    in.push_back(static_cast<uint8_t>(e.port));
    Bytes out(20);
    unsigned len = 0;
    if (EVP_Digest(in.data(), in.size(), out.data(), &len, EVP_sha1(), nullptr) != 1) out.clear();
    return out;
}

void IkeNatd::process(IkeSa& sa, const Message& m) {
    bool any_source = false, source_match = false, any_dest = false, dest_match = false;
    // The SPIs as the message's header carries them: SPIr is still zero in
    // the request.
    const auto remote = natd_hash(m.header.spi_i, m.header.spi_r, sa.remote);
    const auto local = natd_hash(m.header.spi_i, m.header.spi_r, sa.local);
    for (const auto& p : m.payloads) {
        const auto* n = std::get_if<NotifyPayload>(&p.body);
        if (!n) continue;
        if (n->type == uint16_t(NotifyType::nat_detection_source_ip)) {
            any_source = true;
            source_match = source_match || n->data == remote;
        } else if (n->type == uint16_t(NotifyType::nat_detection_destination_ip)) {
            any_dest = true;
            dest_match = dest_match || n->data == local;
        }
    }
    // A peer that sends no hashes does not do NAT-T: assume no NAT.
    sa.nat_there = any_source && !source_match;
    sa.nat_here = any_dest && !dest_match;
    if (sa.nat())
        services_.log(LogLevel::info,
                      std::string("NAT detected (") + (sa.nat_here ? "in front of us" : "") +
                          (sa.nat_here && sa.nat_there ? ", " : "") +
                          (sa.nat_there ? "in front of the peer" : "") +
                          "): IKE on port 4500, ESP in UDP");
}

TaskStatus IkeNatd::build_i(IkeSa& sa, Message& request) {
    add_hashes(sa, request);
    return TaskStatus::ok();
}

TaskStatus IkeNatd::process_i(IkeSa& sa, const Message& response) {
    process(sa, response);
    // §2.23: after detecting a NAT, the initiator moves to port 4500.
    if (sa.nat() && sa.local.port == kIkePort) {
        sa.local.port = kNattPort;
        sa.remote.port = kNattPort;
    }
    return TaskStatus::ok();
}

TaskStatus IkeNatd::process_r(IkeSa& sa, const Message& request) {
    process(sa, request);
    return TaskStatus::ok();
}

TaskStatus IkeNatd::build_r(IkeSa& sa, Message& response) {
    add_hashes(sa, response);
    return TaskStatus::ok();
}

}  // namespace xdpsec::ike
