#include "ike/ike_sa.h"

#include "ike/crypto/key_exchange.h"
#include "ike/crypto/prf.h"

namespace xdpsec::ike {

std::string Endpoint::to_string() const {
    const auto a = addr.to_string();
    return (addr.family == 6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

std::string_view to_string(IkeSaState s) {
    switch (s) {
    case IkeSaState::connecting: return "connecting";
    case IkeSaState::established: return "established";
    case IkeSaState::rekeyed: return "rekeyed";
    case IkeSaState::deleting: return "deleting";
    case IkeSaState::dead: return "dead";
    }
    return "?";
}

IkeSa::IkeSa(bool initiator, uint64_t our_spi, Endpoint l, Endpoint r, TimePoint now)
    : local(std::move(l)), remote(std::move(r)), created(now), last_activity(now),
      initiator_(initiator) {
    (initiator ? spi_i : spi_r) = our_spi;
}

IkeSa::~IkeSa() = default;

}  // namespace xdpsec::ike
