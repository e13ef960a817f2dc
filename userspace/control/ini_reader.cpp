#include "control/ini_reader.h"

#include <openssl/crypto.h>

#include <cctype>

namespace xdpsec::control {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool is_comment_start(std::string_view s) { return !s.empty() && (s[0] == ';' || s[0] == '#'); }

// Keys start with a letter, so a stray line of hex key material is never
// taken for a key name (and quoted in an "unknown key" error).
bool is_key_name(std::string_view k) {
    if (k.empty() || !std::isalpha(static_cast<unsigned char>(k[0]))) return false;
    for (char c : k)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
    return true;
}

void wipe(std::string& s) {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

// The value after '=': quoted, or up to a comment that follows whitespace.
// Returns false (with *why) on a syntax error.
bool parse_value(std::string_view rest, std::string* out, std::string* why) {
    rest = trim(rest);
    if (rest.empty() || is_comment_start(rest)) {
        out->clear();
        return true;
    }
    if (rest[0] != '"') {
        std::size_t end = rest.size();
        for (std::size_t i = 1; i < rest.size(); ++i) {
            if ((rest[i] == ';' || rest[i] == '#') && is_space(rest[i - 1])) {
                end = i;
                break;
            }
        }
        out->assign(trim(rest.substr(0, end)));
        return true;
    }
    out->clear();
    std::size_t i = 1;
    for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size() && (rest[i + 1] == '"' || rest[i + 1] == '\\'))
            ++i;
        out->push_back(rest[i]);
    }
    if (i >= rest.size()) {
        wipe(*out);
        *why = "unterminated quoted value";
        return false;
    }
    auto after = trim(rest.substr(i + 1));
    if (!after.empty() && !is_comment_start(after)) {
        wipe(*out);
        *why = "text after the closing quote";
        return false;
    }
    return true;
}

}  // namespace

IniDocument::~IniDocument() {
    for (auto& s : sections)
        for (auto& e : s.entries) wipe(e.value);
}

IniDocument read_ini(std::string_view text) {
    IniDocument doc;
    IniSection* current = nullptr;  // nullptr before the first section or in a duplicate one
    bool in_duplicate = false;
    unsigned line_no = 0;

    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        auto raw = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line_no == 1 && raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);  // UTF-8 BOM
        const auto line = trim(raw);
        if (line.empty() || is_comment_start(line)) continue;

        if (line[0] == '[') {
            const auto close = line.find(']');
            if (close == std::string_view::npos) {
                doc.errors.push_back({line_no, "section header without ']'"});
                doc.broken_header = true;
                current = nullptr;
                in_duplicate = true;  // its entries would only add noise
                continue;
            }
            const auto after = trim(line.substr(close + 1));
            if (!after.empty() && !is_comment_start(after)) {
                doc.errors.push_back({line_no, "text after the section header"});
            }
            const auto name = trim(line.substr(1, close - 1));
            if (name.empty()) {
                doc.errors.push_back({line_no, "empty section name"});
                doc.broken_header = true;
                current = nullptr;
                in_duplicate = true;
                continue;
            }
            current = nullptr;
            in_duplicate = false;
            for (const auto& s : doc.sections) {
                if (s.name == name) {
                    doc.errors.push_back({line_no, "duplicate section [" + std::string(name) +
                                                       "] (first at line " +
                                                       std::to_string(s.line) + ")"});
                    in_duplicate = true;
                    break;
                }
            }
            if (!in_duplicate) {
                doc.sections.push_back({std::string(name), line_no, {}});
                current = &doc.sections.back();
            }
            continue;
        }

        const auto eq = line.find('=');
        if (eq == std::string_view::npos) {
            doc.errors.push_back({line_no, "expected 'key = value' or '[section]'"});
            if (current) current->had_syntax_errors = true;
            continue;
        }
        const auto key = trim(line.substr(0, eq));
        if (!is_key_name(key)) {
            doc.errors.push_back({line_no, "bad key name (letters, digits, '_' and '-', starting with a letter)"});
            if (current) current->had_syntax_errors = true;
            continue;
        }
        std::string value;
        std::string why;
        if (!parse_value(line.substr(eq + 1), &value, &why)) {
            doc.errors.push_back({line_no, std::string(key) + ": " + why});
            if (current) current->had_syntax_errors = true;
            continue;
        }
        if (!current) {
            wipe(value);
            if (!in_duplicate)
                doc.errors.push_back({line_no, "key '" + std::string(key) + "' outside any section"});
            continue;
        }
        bool duplicate = false;
        for (const auto& e : current->entries) {
            if (e.key == key) {
                doc.errors.push_back({line_no, "duplicate key '" + std::string(key) +
                                                   "' (first at line " + std::to_string(e.line) + ")"});
                duplicate = true;
                break;
            }
        }
        if (duplicate) {
            wipe(value);
            continue;
        }
        current->entries.push_back({std::string(key), std::move(value), line_no});
    }
    return doc;
}

}  // namespace xdpsec::control
