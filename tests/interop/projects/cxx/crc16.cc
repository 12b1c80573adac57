// CRC-16/CCITT-FALSE in C++ (a table built at compile time), standing in for the runtime's C
// version so a runtime tree holds a C++ source the session depends on: if it is not compiled as
// C++ and linked, the project does not build; if it is wrong, no session starts.
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

extern "C" uint16_t TVMCrc16Update(uint16_t crc, const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    crc = static_cast<uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ data[i]) & 0xFF]);
  }
  return crc;
}
