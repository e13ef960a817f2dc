// One IKE SA (RFC 7296 §2): its SPIs, endpoints, negotiated suite and keys,
// the state of its exchanges (message IDs, the request in flight, the last
// response for retransmitted requests) and its CHILD SAs. The tasks fill it
// in; the task manager drives its exchanges; the engine owns it.
#pragma once

#include "control/config.h"
#include "esp/ip_address.h"
#include "ike/bytes.h"
#include "ike/kernel_ipsec.h"
#include "ike/message/payloads.h"
#include "ike/proposal_select.h"
#include "ike/sk_protector.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xdpsec::ike {

class KeyExchange;
class Prf;

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

struct Endpoint {
    esp::IpAddress addr;
    uint16_t port = 0;
    std::string to_string() const;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

enum class IkeSaState : uint8_t {
    connecting,   // IKE_SA_INIT / IKE_AUTH under way
    established,  // authenticated, CHILD SAs may exist
    rekeyed,      // replaced by a rekey, or the redundant SA of a rekey collision
                  // (RFC 7296 §2.8.2): carries nothing, waits for its DELETE
    deleting,     // our DELETE is in flight
    dead,         // to be removed by the engine
};
std::string_view to_string(IkeSaState s);

struct ChildSa {
    uint32_t spi_in = 0;   // ours: the peer sends with it
    uint32_t spi_out = 0;  // the peer's
    ChildSuite suite;
    esp::Mode mode = esp::Mode::tunnel;
    std::vector<TrafficSelector> local_ts, remote_ts;  // as negotiated
    bool udp_encap = false;
    bool installed = false;
    TimePoint established{};
    TimePoint rekey_at{};        // when we rekey it (jittered), if rekeying is on
    TimePoint expire_at{};       // hard lifetime: deleted then if still here
    bool rekeying = false;       // our rekey of it is in flight
    bool superseded = false;     // rekeyed: it waits for its DELETE
    TimePoint superseded_at{};   // since when (we delete it ourselves if none comes)
    uint32_t replaces = 0;       // the spi_in of the CHILD SA this one rekeyed
    bool we_initiated = false;   // of the exchange that made it
    bool collision = false;      // the peer rekeyed it while our rekey was in flight
    bool redundant = false;      // the loser of a rekey collision: waits for its DELETE
    Bytes ni, nr;                // that exchange's nonces (rekey collisions, §2.8.1)
    // Responder of a rekey: the outbound SA waits until the peer surely has
    // the new inbound one (it deletes the old SA, or sends on the new one).
    std::shared_ptr<const ChildSaInstall> pending_out;
};

class IkeSa {
public:
    IkeSa(bool initiator, uint64_t our_spi, Endpoint local, Endpoint remote, TimePoint now);
    ~IkeSa();
    IkeSa(const IkeSa&) = delete;
    IkeSa& operator=(const IkeSa&) = delete;

    bool initiator() const { return initiator_; }
    uint64_t our_spi() const { return initiator_ ? spi_i : spi_r; }
    uint64_t peer_spi() const { return initiator_ ? spi_r : spi_i; }
    // NAT between us and the peer, either side (RFC 7296 §2.23): ESP is then
    // UDP-encapsulated and IKE moves to port 4500.
    bool nat() const { return nat_here || nat_there; }

    // The tunnel this SA serves. A responder knows only candidates (by
    // address) after IKE_SA_INIT and picks one by the peer's identity.
    const control::TunnelConfig* tunnel = nullptr;
    std::vector<const control::TunnelConfig*> candidates;

    uint64_t spi_i = 0, spi_r = 0;
    Endpoint local, remote;
    bool nat_here = false;   // our address is translated
    bool nat_there = false;  // the peer's address is translated
    IkeSaState state = IkeSaState::connecting;
    std::string failure;     // why the SA (or a task on it) failed, for `tunnel list`
    bool failed = false;     // it ended in an error, reported in `tunnel list`
    bool peer_lost = false;  // the peer stopped answering: dpd_action applies
    bool closing = false;    // we close it on purpose (tunnel down/del, hard lifetime)

    // IKE_SA_INIT
    IkeSuite suite;
    std::unique_ptr<KeyExchange> ke;
    uint16_t ke_group_hint = 0;  // from INVALID_KE_PAYLOAD
    Bytes cookie;                // from a COOKIE notification
    Bytes nonce_i, nonce_r;
    Bytes init_request, init_response;  // as sent on the wire, signed by AUTH (§2.15)
    std::vector<uint16_t> peer_hash_algorithms;  // SIGNATURE_HASH_ALGORITHMS
    bool peer_fragmentation = false;

    // Keys (RFC 7296 §2.14)
    std::unique_ptr<Prf> prf;
    SecretVector sk_d, sk_pi, sk_pr;
    std::unique_ptr<SkProtector> outbound, inbound;

    // IKE_AUTH
    std::string local_id, remote_id;  // as shown to operators
    std::vector<ChildSa> children;
    std::vector<uint32_t> to_delete;  // CHILD SAs (inbound SPIs) we must DELETE next

    // Exchanges (RFC 7296 §2.1-2.3)
    uint32_t next_request_id = 0;  // of our next request
    uint32_t next_peer_id = 0;     // the peer's next request
    struct Response {
        uint32_t id = 0;
        std::vector<Bytes> datagrams;  // one, or the fragments (RFC 7383)
        bool valid = false;
    } last_response;

    // IKE fragmentation (RFC 7383): the message being reassembled, one per
    // direction of exchange (the peer's request, the response to ours).
    struct Reassembly {
        uint32_t id = 0;
        bool active = false;
        uint16_t total = 0;
        PayloadType first_inner = PayloadType::none;
        std::vector<std::optional<Bytes>> parts;
        std::size_t bytes = 0;
    } reassembly[2];

    // An IKE SA that replaced this one in a rekey (RFC 7296 §2.18), for the
    // engine to take over; this one waits for its DELETE.
    std::unique_ptr<IkeSa> successor;
    bool delete_when_succeeded = false;  // we rekeyed it: its DELETE is ours to send
    TimePoint ike_rekey_at{};            // when we rekey this IKE SA, if at all
    bool ike_rekeying = false;           // our rekey of it is queued or in flight
    // §2.8.2: the IKE SA the peer's rekey made while ours was under way;
    // which of the two survives is settled when ours ends.
    std::unique_ptr<IkeSa> peer_successor;
    // §2.8.2: the new IKE SA of a rekey collision that lost, for the engine
    // to take over until it is deleted (by us if we made it).
    std::unique_ptr<IkeSa> redundant;
    TimePoint retire_at{};  // rekeyed: gone by then even if no DELETE came
    // Reauthentication (make-before-break): a new IKE SA is built beside
    // this one, which is deleted once the new one is established.
    TimePoint reauth_at{};
    bool reauthenticating = false;
    uint64_t replaces_ike = 0;  // on the new SA: our SPI of the one it replaces

    TimePoint created, established_at{};
    TimePoint last_activity;        // last message from the peer, or ESP from it
    uint64_t inbound_packets = 0;   // ESP received on the CHILD SAs, as last seen
    bool dpd_pending = false;       // a liveness check is in flight
    TimePoint last_keepalive{};     // NAT keepalives (RFC 3948 §2.3)
    TimePoint last_invalid_spi{};   // INVALID_SPI sent over this SA (rate limit)
    bool ike_expired = false;       // hard lifetime reached: our DELETE is queued

private:
    bool initiator_;
};

}  // namespace xdpsec::ike
