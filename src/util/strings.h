// util/strings.h — small string helpers shared by every layer, and the glob
// matcher D probe descriptions and `-l -n` use (DTrace's *, ?, [...] rules).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace probekit {

std::vector<std::string> split(std::string_view s, char sep);
// Splits on runs of blanks (space, tab, newline).
std::vector<std::string> split_ws(std::string_view s);
std::string_view trim(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

// "0x1f" style.
std::string hex(uint64_t v);

// Parses a C integer literal: decimal, 0x hex, 0 octal, with optional sign.
// Rejects trailing garbage.
std::optional<int64_t> parse_int(std::string_view s);
std::optional<uint64_t> parse_uint(std::string_view s, int base = 0);

// Shell-style glob: '*' any run, '?' one char, '[abc]', '[a-z]', '[!a]' / '[^a]'.
// '\' escapes the next character.
bool glob_match(std::string_view pattern, std::string_view text);
// True when `pattern` contains an unescaped glob metacharacter.
bool has_glob(std::string_view pattern);

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// Up to `max` candidates closest to `name` (distance <= max(2, |name|/3)),
// best first; substring matches rank before distant ones.
std::vector<std::string> closest_matches(std::string_view name,
                                         const std::vector<std::string>& candidates,
                                         size_t max = 3);

// JSON string literal with quotes and escapes.
std::string json_quote(std::string_view s);

}  // namespace probekit
