// The INI dialect of xdpsecd's configuration file: [section] headers,
// `key = value` lines, ';' or '#' comments (a whole line, or after
// whitespace at the end of one), double-quoted values with \" and \\.
//
// DESIGN.md names Boost.Program_options for INI, but its config-file parser
// reports neither the line of a bad value nor duplicate keys, and every
// configuration error must say FILE:LINE. So this small reader keeps the
// line of every section and key, and the checks live in config.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace xdpsec::control {

struct IniEntry {
    std::string key;
    std::string value;  // unquoted, comments and surrounding whitespace removed
    unsigned line = 0;
};

struct IniSection {
    std::string name;  // between the brackets, trimmed
    unsigned line = 0;
    std::vector<IniEntry> entries;  // in file order, no duplicate keys
    bool had_syntax_errors = false;  // some line of it did not parse: a key may be
                                     // missing only for that reason
};

// An error of the file's syntax. The reason never quotes the line itself,
// which may hold key material.
struct IniError {
    unsigned line = 0;
    std::string reason;
};

struct IniDocument {
    std::vector<IniSection> sections;  // in file order, no duplicate names
    std::vector<IniError> errors;
    bool broken_header = false;  // a section header did not parse

    IniDocument() = default;
    IniDocument(const IniDocument&) = delete;
    IniDocument& operator=(const IniDocument&) = delete;
    IniDocument(IniDocument&&) = default;
    IniDocument& operator=(IniDocument&&) = default;
    // Values may be keys (enc_key, psk): wiped before the memory is freed.
    ~IniDocument();
};

IniDocument read_ini(std::string_view text);

}  // namespace xdpsec::control
