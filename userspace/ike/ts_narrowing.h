// Traffic selectors (RFC 7296 §3.13) between the configuration's prefixes,
// the wire's address ranges and the data plane's prefixes, and narrowing
// (§2.9): a responder answers with the part of the initiator's selectors
// that its policy allows, an initiator accepts only a subset of its offer.
#pragma once

#include "esp/ip_prefix.h"
#include "ike/message/payloads.h"

#include <vector>

namespace xdpsec::ike {

TrafficSelector selector_of(const esp::IpPrefix& p);  // any protocol, all ports
TsPayload ts_payload(const std::vector<esp::IpPrefix>& prefixes);

// Responder: every non-empty intersection of one of theirs with one of ours.
std::vector<TrafficSelector> narrow(const std::vector<TrafficSelector>& theirs,
                                    const std::vector<esp::IpPrefix>& ours);

// Initiator: true when every selector of the answer lies inside one of ours.
bool within(const std::vector<TrafficSelector>& answer, const std::vector<esp::IpPrefix>& ours);

// The smallest set of prefixes covering exactly the selectors' address
// ranges. The data plane's policies are prefixes; protocol and port limits a
// peer negotiated are kept by IKE but not enforced by them.
std::vector<esp::IpPrefix> prefixes_of(const std::vector<TrafficSelector>& selectors);

std::string to_string(const TrafficSelector& ts);

}  // namespace xdpsec::ike
