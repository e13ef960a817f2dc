// Big-endian field access for the codec. Reads past the end return zeros
// and latch a failure flag, so a missed length check cannot overrun a
// buffer; the codec still checks lengths first to report which field broke.
#pragma once

#include "ike/bytes.h"

#include <cstddef>
#include <cstdint>

namespace xdpsec::ike::wire {

class Reader {
public:
    explicit Reader(ByteView data) : data_(data) {}

    std::size_t remaining() const { return data_.size() - pos_; }
    bool empty() const { return pos_ == data_.size(); }

    uint8_t u8() { return take(1) ? data_[pos_ - 1] : 0; }
    uint16_t u16() {
        if (!take(2)) return 0;
        return static_cast<uint16_t>(data_[pos_ - 2] << 8 | data_[pos_ - 1]);
    }
    uint32_t u32() {
        const uint32_t hi = u16();
        return hi << 16 | u16();
    }
    uint64_t u64() {
        const uint64_t hi = u32();
        return hi << 32 | u32();
    }
    ByteView view(std::size_t n) {
        if (!take(n)) return {};
        return data_.subspan(pos_ - n, n);
    }
    Bytes bytes(std::size_t n) {
        const ByteView v = view(n);
        return Bytes(v.begin(), v.end());
    }
    Bytes rest() { return bytes(remaining()); }
    void skip(std::size_t n) { take(n); }

private:
    bool take(std::size_t n) {
        if (!ok_ || n > remaining()) {
            ok_ = false;
            return false;
        }
        pos_ += n;
        return true;
    }

    ByteView data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

class Writer {
public:
    explicit Writer(Bytes& out) : out_(out) {}

    std::size_t size() const { return out_.size(); }
    void u8(uint8_t v) { out_.push_back(v); }
    void u16(uint16_t v) {
        u8(static_cast<uint8_t>(v >> 8));
        u8(static_cast<uint8_t>(v));
    }
    void u32(uint32_t v) {
        u16(static_cast<uint16_t>(v >> 16));
        u16(static_cast<uint16_t>(v));
    }
    void u64(uint64_t v) {
        u32(static_cast<uint32_t>(v >> 32));
        u32(static_cast<uint32_t>(v));
    }
    void zeros(std::size_t n) { out_.insert(out_.end(), n, 0); }
    void bytes(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }
    // Overwrites a 16-bit field written earlier (a length known only later).
    void patch16(std::size_t at, std::size_t v) {
        out_[at] = static_cast<uint8_t>(v >> 8);
        out_[at + 1] = static_cast<uint8_t>(v);
    }

private:
    Bytes& out_;
};

}  // namespace xdpsec::ike::wire
