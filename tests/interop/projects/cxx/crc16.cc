// CRC-16/CCITT-FALSE in C++, standing in for the runtime's C version so a runtime tree holds a
// C++ source the session depends on: if it is not compiled as C++ and linked, the project does
// not build; if it is wrong, no session starts. It uses what C++ runtime code does (a class
// hierarchy with virtual functions, hence vtables naming the C++ ABI's hooks, and a table built
// at compile time) but no C++ library header, as on bare metal.
#include <stddef.h>
#include <stdint.h>

#include <tvm/runtime/crt/internal/rpc_common.h>

namespace {

class Crc16Table {
 public:
  constexpr Crc16Table() : entries_() {
    for (unsigned byte = 0; byte < 256; ++byte) {
      uint16_t crc = static_cast<uint16_t>(byte << 8);
      for (int bit = 0; bit < 8; ++bit) {
        crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                             : static_cast<uint16_t>(crc << 1);
      }
      entries_[byte] = crc;
    }
  }
  constexpr uint16_t operator[](size_t index) const { return entries_[index]; }

 private:
  uint16_t entries_[256];
};

constexpr Crc16Table kTable;
static_assert(kTable[1] == 0x1021, "CRC-16/CCITT table");

}  // namespace

// Named (external linkage), so the compiler keeps the vtables rather than folding them away.
namespace crc_example {

class Checksum {
 public:
  virtual ~Checksum() = default;
  virtual uint16_t Update(uint16_t crc, const uint8_t* data, size_t len) const = 0;
};

class TableCrc16 final : public Checksum {
 public:
  uint16_t Update(uint16_t crc, const uint8_t* data, size_t len) const override;
};

// Out of line: the key function, so the vtable (with the deleting destructor) is emitted here.
uint16_t TableCrc16::Update(uint16_t crc, const uint8_t* data, size_t len) const {
  for (size_t i = 0; i < len; ++i) {
    crc = static_cast<uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ data[i]) & 0xFF]);
  }
  return crc;
}

__attribute__((noinline)) uint16_t UpdateWith(const Checksum& checksum, uint16_t crc,
                                              const uint8_t* data, size_t len) {
  return checksum.Update(crc, data, len);
}

}  // namespace crc_example

extern "C" uint16_t TVMCrc16Update(uint16_t crc, const uint8_t* data, size_t len) {
  crc_example::TableCrc16 crc16;
  return crc_example::UpdateWith(crc16, crc, data, len);
}
