/* CRC-16/CCITT-FALSE (poly 0x1021, MSB first, no reflection), bitwise to stay table-free. */
#include <tvm/runtime/crt/internal/rpc_common.h>

uint16_t TVMCrc16Update(uint16_t crc, const uint8_t* data, size_t len) {
  size_t i;
  int b;
  for (i = 0; i < len; i++) {
    crc ^= (uint16_t)((uint16_t)data[i] << 8);
    for (b = 0; b < 8; b++) {
      crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
  }
  return crc;
}
