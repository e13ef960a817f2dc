#include "cli/cli_render.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <vector>

namespace xdpsec::cli {

namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// One cell: strings as they are, lists joined by ',', null as '-'.
std::string cell(const Json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_null()) return "-";
    if (j.is_boolean()) return j.get<bool>() ? "yes" : "no";
    if (j.is_array()) {
        std::string s;
        for (const auto& e : j) s += (s.empty() ? "" : ",") + cell(e);
        return s.empty() ? "-" : s;
    }
    return dump(j);
}

std::string field(const Json& obj, const char* key) {
    const auto it = obj.find(key);
    return it == obj.end() ? "-" : cell(*it);
}

class Table {
public:
    explicit Table(std::vector<std::string> header) : header_(std::move(header)) {
        right_.assign(header_.size(), false);
    }
    void right_align(std::size_t column) { right_[column] = true; }
    void add(std::vector<std::string> row) {
        row.resize(header_.size(), "-");
        rows_.push_back(std::move(row));
    }
    std::string render() const {
        std::vector<std::size_t> width(header_.size());
        for (std::size_t c = 0; c < header_.size(); ++c) {
            width[c] = header_[c].size();
            for (const auto& r : rows_) width[c] = std::max(width[c], r[c].size());
        }
        std::string out;
        auto line = [&](const std::vector<std::string>& r) {
            std::string l;
            for (std::size_t c = 0; c < r.size(); ++c) {
                const std::string pad(width[c] - r[c].size(), ' ');
                if (c) l += "  ";
                l += right_[c] ? pad + r[c] : r[c] + (c + 1 < r.size() ? pad : "");
            }
            out += l + "\n";
        };
        line(header_);
        for (const auto& r : rows_) line(r);
        return out;
    }

private:
    std::vector<std::string> header_;
    std::vector<bool> right_;
    std::vector<std::vector<std::string>> rows_;
};

std::string render_status(const Json& reply) {
    std::string out;
    for (const auto& [key, value] : reply.items()) out += key + ": " + cell(value) + "\n";
    return out;
}

std::string render_tunnels(const Json& reply) {
    const auto& tunnels = reply.at("tunnels");
    if (tunnels.empty()) return "no tunnels\n";
    Table t({"NAME", "STATE", "LOCAL", "REMOTE", "MODE", "START", "LOCAL_TS", "REMOTE_TS", "IKE",
             "ESP", "SAS"});
    t.right_align(10);
    for (const auto& tn : tunnels)
        t.add({field(tn, "name"), field(tn, "state"), field(tn, "local"), field(tn, "remote"),
               field(tn, "mode"), field(tn, "start"), field(tn, "local_ts"), field(tn, "remote_ts"),
               field(tn, "ike"), field(tn, "esp"), field(tn, "sas")});
    std::string out = t.render();
    // Why a tunnel failed, in the engine's words, under the table.
    for (const auto& tn : tunnels)
        if (tn.contains("error")) out += field(tn, "name") + ": " + field(tn, "error") + "\n";
    return out;
}

// IKE SAs and their CHILD SAs, above the ESP SAs of the data plane.
std::string render_ike_sas(const Json& ikes) {
    Table t({"TUNNEL", "ROLE", "STATE", "LOCAL", "REMOTE", "REMOTE_ID", "IKE", "NAT", "AGE",
             "CHILD_SAS"});
    t.right_align(8);
    for (const auto& i : ikes) {
        std::string children;
        if (const auto c = i.find("child_sas"); c != i.end() && c->is_array())
            for (const auto& ch : *c)
                children += (children.empty() ? "" : " ") + field(ch, "spi_in") + "/" +
                            field(ch, "spi_out") + ":" + field(ch, "alg");
        t.add({field(i, "tunnel"), field(i, "role"), field(i, "state"), field(i, "local"),
               field(i, "remote"), field(i, "remote_id"), field(i, "alg"), field(i, "nat"),
               field(i, "age_s") + "s", children.empty() ? "-" : children});
    }
    return t.render();
}

std::string render_sas(const Json& reply) {
    std::string out;
    if (const auto ikes = reply.find("ike_sas"); ikes != reply.end() && !ikes->empty())
        out = "IKE SAs:\n" + render_ike_sas(*ikes) + "\nESP SAs:\n";
    const auto& sas = reply.at("sas");
    if (sas.empty()) return out + "no SAs\n";
    Table t({"TUNNEL", "NAME", "DIR", "SPI", "MODE", "ALG", "LOCAL_TS", "REMOTE_TS", "PACKETS",
             "BYTES", "STATE", "DROPS"});
    t.right_align(8);
    t.right_align(9);
    for (const auto& sa : sas) {
        std::string drops;
        if (const auto d = sa.find("drops"); d != sa.end() && d->is_object()) {
            for (const auto& [reason, count] : d->items()) {
                if (count.is_number() && count.get<double>() == 0) continue;
                drops += (drops.empty() ? "" : " ") + reason + "=" + cell(count);
            }
        }
        const auto spi = sa.find("spi");
        std::string spi_text = spi == sa.end() ? "" : format_spi(*spi);
        if (spi_text.empty()) spi_text = field(sa, "spi");
        std::string tunnel = field(sa, "tunnel");
        if (tunnel.empty()) tunnel = "-";
        t.add({tunnel, field(sa, "name"), field(sa, "direction"), spi_text, field(sa, "mode"),
               field(sa, "alg"), field(sa, "local_ts"), field(sa, "remote_ts"),
               field(sa, "packets"), field(sa, "bytes"), field(sa, "state"),
               drops.empty() ? "-" : drops});
    }
    return out + t.render();
}

std::string render_stats(const Json& reply) {
    std::string out;
    if (const auto xdp = reply.find("xdp"); xdp != reply.end() && xdp->is_object()) {
        Table t({"VERDICT", "PACKETS", "BYTES"});
        t.right_align(1);
        t.right_align(2);
        for (const auto& [reason, c] : xdp->items())
            t.add({reason, field(c, "packets"), field(c, "bytes")});
        out += "XDP verdicts\n" + t.render();
    }
    if (const auto workers = reply.find("workers"); workers != reply.end() && workers->is_array()) {
        if (!out.empty()) out += "\n";
        if (workers->empty()) return out + "no workers\n";
        // A row per counter (every key any worker has, in the order first
        // seen), a column per worker: two dozen counters read down, not
        // across the screen.
        std::vector<std::string> keys;
        for (const auto& w : *workers)
            for (const auto& [key, value] : w.items())
                if (key != "id" && std::find(keys.begin(), keys.end(), key) == keys.end())
                    keys.push_back(key);
        std::vector<std::string> header{"COUNTER"};
        for (std::size_t i = 0; i < workers->size(); ++i)
            header.push_back("WORKER " + field((*workers)[i], "id"));
        Table t(header);
        for (std::size_t c = 1; c < header.size(); ++c) t.right_align(c);
        for (const auto& k : keys) {
            std::vector<std::string> row{k};
            for (const auto& w : *workers) row.push_back(field(w, k.c_str()));
            t.add(std::move(row));
        }
        out += "Workers\n" + t.render();
    }
    if (const auto ike = reply.find("ike"); ike != reply.end() && ike->is_object()) {
        out += "IKE\n";
        for (const auto& [key, value] : ike->items()) out += "  " + key + ": " + cell(value) + "\n";
    }
    if (const auto ev = reply.find("events"); ev != reply.end() && ev->is_object() && !ev->empty()) {
        Table t({"EVENT", "EMITTED", "RATE_LIMITED", "RING_FULL"});
        for (std::size_t c = 1; c < 4; ++c) t.right_align(c);
        for (const auto& [type, c] : ev->items())
            t.add({type, field(c, "emitted"), field(c, "rate_limited"), field(c, "ring_full")});
        out += "Data-plane events\n" + t.render();
    }
    return out;
}

}  // namespace

std::string format_spi(const nlohmann::ordered_json& spi) {
    uint64_t value = 0;
    if (spi.is_number_unsigned()) {
        value = spi.get<uint64_t>();
    } else if (spi.is_string()) {
        std::string_view s = spi.get_ref<const std::string&>();
        int base = 10;
        if (s.starts_with("0x") || s.starts_with("0X")) {
            s.remove_prefix(2);
            base = 16;
        }
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
        if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return {};
    } else {
        return {};
    }
    if (value > UINT32_MAX) return {};
    char buf[11];
    std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(value));
    return buf;
}

std::string render_reply(std::string_view cmd, const nlohmann::ordered_json& reply) {
    try {
        if (cmd == "status") return render_status(reply);
        if (cmd == "tunnel list") return render_tunnels(reply);
        if (cmd == "sa list") return render_sas(reply);
        if (cmd == "stats") return render_stats(reply);
        if (const auto m = reply.find("message"); m != reply.end() && m->is_string())
            return m->get<std::string>() + "\n";
        return "ok\n";
    } catch (const nlohmann::json::exception&) {
        return reply.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    }
}

}  // namespace xdpsec::cli
