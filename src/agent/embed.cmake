# Writes the bytes of IN as a C++ array (agent/agent_image.h) to OUT.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "// Generated from ${IN} by src/agent/embed.cmake.\n"
  "#include \"agent/agent_image.h\"\n"
  "namespace probekit::agent {\n"
  "namespace { alignas(16) const uint8_t kImage[${size}] = {\n${bytes}\n}; }\n"
  "std::span<const uint8_t> image() { return {kImage, sizeof kImage}; }\n"
  "}  // namespace probekit::agent\n")
