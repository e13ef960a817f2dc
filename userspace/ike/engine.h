// The IKEv2 engine of xdpsecd: tunnels from the configuration, their IKE
// SAs and exchanges, and the reports `xdpsecctl tunnel list` and `sa list`
// show. It is driven from outside (received datagrams, the clock) and acts
// through IkeServices (network, data plane, log), so two engines can talk
// to each other in one process in tests.
#pragma once

#include "control/config.h"
#include "ike/ike_sa.h"
#include "ike/crypto/prf.h"
#include "ike/message/message.h"
#include "ike/services.h"
#include "ike/task_manager.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xdpsec::ike {

struct EngineOptions {
    RetransmitPolicy retransmit;
    // A responder's IKE SA is dropped if IKE_AUTH has not completed by then.
    std::chrono::seconds half_open_timeout{30};
    // RFC 7383 §2.5.1: IKE fragments fill IP packets of at most this size
    // (1280: what IPv6 guarantees; strongSwan's default too).
    std::size_t fragment_ip_size = 1280;
    // RFC 7296 §2.6: from this many half-open responder SAs on, a new
    // IKE_SA_INIT must bring back a COOKIE (strongSwan's default too).
    std::size_t cookie_threshold = 10;
    // Half-open responder SAs one source address may hold; more are dropped.
    std::size_t half_open_per_source = 5;
    // RFC 3948 §2.3: NAT keepalive interval when we are behind a NAT.
    std::chrono::seconds nat_keepalive{20};
    // An IKE SA replaced by a rekey (or the redundant one of a collision,
    // RFC 7296 §2.8.2) whose DELETE is the peer's to send goes after this
    // even if the DELETE never comes (strongSwan waits 90 s too).
    std::chrono::seconds rekeyed_timeout{90};
};

enum class TunnelState : uint8_t { down, connecting, established, deleting, failed };
std::string_view to_string(TunnelState s);

struct TunnelReport {
    const control::TunnelConfig* config = nullptr;
    TunnelState state = TunnelState::down;
    std::string last_error;
    const IkeSa* ike_sa = nullptr;  // the current one, if any
};

class Engine {
public:
    explicit Engine(IkeServices& services, EngineOptions options = {});
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Adds a tunnel (the name must be new). Empty on success, otherwise why not.
    std::string add_tunnel(control::TunnelConfig tunnel);
    // Brings the tunnel down (DELETE to the peer) and forgets it.
    std::string remove_tunnel(const std::string& name, TimePoint now);
    // Initiates the tunnel's IKE SA (a no-op when one is up or under way).
    std::string up(const std::string& name, TimePoint now);
    // Deletes the tunnel's IKE and CHILD SAs (DELETE sent, data plane cleared).
    std::string down(const std::string& name, TimePoint now);
    // Rekeys the tunnel's CHILD SAs (or its IKE SA, `ike`) now, as if their
    // rekey time had come; an error when the tunnel has no established IKE SA.
    std::string rekey(const std::string& name, bool ike, TimePoint now);
    // The data plane met traffic for the tunnel's trap (start = trap, or
    // dpd_action = trap after a dead peer): initiates it unless an IKE SA is
    // up or under way. `what` describes the packet for the log.
    void acquire(const std::string& name, const std::string& what, TimePoint now);
    // ESP from `remote` to `local` with an SPI the data plane does not know:
    // INVALID_SPI over the IKE SA with that peer (its port too, for ESP in
    // UDP: peers behind one NAT differ by port; 0 = any), if one is
    // established, at most once a second per IKE SA (RFC 7296 §1.5).
    void invalid_spi(const esp::IpAddress& local, const Endpoint& remote, uint32_t spi, TimePoint now);
    // Initiates every tunnel with start = initiate.
    void start(TimePoint now);
    // Deletes every IKE SA (best effort, no waiting) and clears the data plane.
    void shutdown(TimePoint now);

    // One IKE message as received (without the non-ESP marker) on `local`
    // from `remote`.
    void receive(const Endpoint& local, const Endpoint& remote, ByteView datagram, TimePoint now);
    // Retransmissions, timeouts, liveness checks: call at least every second.
    void tick(TimePoint now);
    std::optional<TimePoint> next_deadline() const;

    std::vector<TunnelReport> tunnels() const;
    std::vector<const IkeSa*> ike_sas() const;
    const control::TunnelConfig* find_tunnel(const std::string& name) const;

    struct Counters {
        uint64_t received = 0, sent = 0;
        uint64_t dropped_malformed = 0;    // could not be decoded
        uint64_t dropped_unknown_spi = 0;  // no IKE SA with that SPI
        uint64_t dropped_no_tunnel = 0;    // IKE_SA_INIT no tunnel accepts
        uint64_t dropped_half_open_cap = 0;  // IKE_SA_INIT over a source's half-open cap
        uint64_t cookies_sent = 0;         // IKE_SA_INIT answered with a COOKIE
        uint64_t keepalives_sent = 0;      // NAT keepalives
        uint64_t acquires = 0;             // trap hits that initiated a tunnel (or a CHILD SA)
        uint64_t acquires_held = 0;        // trap hits within 10 s of a failed attempt
        uint64_t invalid_spi_sent = 0;     // INVALID_SPI notifications sent
        uint64_t invalid_spi_no_sa = 0;    // unknown SPIs from peers we share no IKE SA with
        uint64_t invalid_spi_limited = 0;  // unknown SPIs over the one-a-second limit
    };
    const Counters& counters() const { return counters_; }

private:
    class Services;
    struct Entry {
        std::unique_ptr<IkeSa> sa;
        std::unique_ptr<TaskManager> tasks;
    };
    // Keeps an RFC 7383 fragment; the whole message once the last one is
    // in, a decode error, or nullopt while fragments are missing (or the
    // fragment was dropped).
    std::optional<DecodeResult<Message>> reassemble(Entry& e, const IkeHeader& h, ByteView datagram);
    Entry* find_sa(uint64_t our_spi);
    Entry* find_half_open(uint64_t spi_i, const Endpoint& remote);
    Entry* sa_of_tunnel(const control::TunnelConfig* t);
    Entry& create_sa(bool initiator, Endpoint local, Endpoint remote, TimePoint now);
    Entry& initiate(const control::TunnelConfig* t, TimePoint now);
    void start_reauths(TimePoint now);
    void adopt(std::unique_ptr<IkeSa> sa);  // a rekeyed IKE SA's successor
    // The new IKE SAs rekeys made, and the DELETEs of the old and redundant
    // ones that are ours to send.
    void take_successors(TimePoint now);
    void queue_delete(Entry& e, TimePoint now);
    void dead_peer_detection(Entry& e, TimePoint now);
    bool admit(const Endpoint& local, const Endpoint& remote, const IkeHeader& h, ByteView datagram,
               TimePoint now);
    std::size_t half_open(const esp::IpAddress* from) const;
    Bytes cookie_for(uint32_t version, ByteView nonce, const Endpoint& remote, uint64_t spi_i);
    void schedule(Entry& e, TimePoint now);
    void keepalive(Entry& e, TimePoint now);
    void reap(TimePoint now);
    uint64_t new_ike_spi();
    // The tunnel's selectors trapped in the data plane (idempotent).
    void trap(const control::TunnelConfig& t);

    std::unique_ptr<Services> services_;
    EngineOptions options_;
    std::vector<std::unique_ptr<control::TunnelConfig>> tunnels_;
    std::map<std::string, std::string> last_error_;  // by tunnel name
    std::vector<Entry> sas_;
    std::vector<uint64_t> reauth_due_;  // our SPIs of IKE SAs to reauthenticate
    std::map<std::string, bool> trapped_;  // tunnels whose trap is installed
    std::map<std::string, TimePoint> last_failure_;  // when an attempt to set a tunnel up last failed
    Counters counters_;
    // COOKIE secrets (§2.6): the current one and the one before it.
    std::unique_ptr<Prf> cookie_prf_;
    SecretVector cookie_secret_, cookie_previous_;
    uint32_t cookie_version_ = 0;
    TimePoint cookie_rotated_{};
};

}  // namespace xdpsec::ike
