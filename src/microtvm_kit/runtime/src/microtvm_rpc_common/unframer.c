/*
 * Receiver half of the framing layer. The CRC runs over the escaped (wire) bytes. Unlike TVM's
 * receiver, every abandoned or corrupted packet is discarded entirely: its bytes never reach the
 * session layer, so a bad packet can neither be executed nor poison the next one. A payload
 * longer than the buffer is still followed to its CRC (so the stream stays in sync) and reported
 * with `overflow` set.
 */
#include <tvm/runtime/crt/internal/rpc_common.h>

enum { kHunt = 0, kLength = 1, kPayload = 2, kCrc = 3 };

void TVMUnframer_Init(TVMUnframer* u, uint8_t* buffer, size_t capacity) {
  u->buffer = buffer;
  u->capacity = capacity;
  u->length = 0;
  u->expected = 0;
  u->received = 0;
  u->crc = TVM_FRAMING_CRC_INIT;
  u->received_crc = 0;
  u->state = kHunt;
  u->escape_pending = 0;
  u->field_bytes = 0;
  u->overflow = 0;
  u->num_packets = u->num_bad_crc = u->num_short = u->num_invalid_escape = 0;
}

static void StartPacket(TVMUnframer* u) {
  static const uint8_t kStart[2] = {TVM_FRAMING_ESCAPE, TVM_FRAMING_START};
  u->state = kLength;
  u->crc = TVMCrc16Update(TVM_FRAMING_CRC_INIT, kStart, 2);
  u->expected = 0;
  u->received = 0;
  u->length = 0;
  u->field_bytes = 0;
  u->overflow = 0;
  u->received_crc = 0;
}

/* One unescaped byte of the current packet. Returns an event (kTVMUnframerNone if none). */
static tvm_unframer_event_t Deliver(TVMUnframer* u, uint8_t v) {
  switch (u->state) {
    case kLength:
      u->expected |= (uint32_t)v << (8 * u->field_bytes);
      if (++u->field_bytes == 4) {
        u->field_bytes = 0;
        u->overflow = u->expected > u->capacity;
        u->state = u->expected ? kPayload : kCrc;
      }
      return kTVMUnframerNone;
    case kPayload:
      if (u->length < u->capacity) u->buffer[u->length++] = v;
      if (++u->received == u->expected) u->state = kCrc;
      return kTVMUnframerNone;
    case kCrc:
      u->received_crc |= (uint16_t)((uint16_t)v << (8 * u->field_bytes));
      if (++u->field_bytes == 2) {
        u->state = kHunt;
        if (u->received_crc == u->crc) {
          u->num_packets++;
          return kTVMUnframerPacket;
        }
        u->num_bad_crc++;
        u->length = 0;
        return kTVMUnframerBadCrc;
      }
      return kTVMUnframerNone;
    default:
      return kTVMUnframerNone;
  }
}

static void CrcRaw(TVMUnframer* u, uint8_t a, uint8_t b, int two) {
  uint8_t raw[2];
  raw[0] = a;
  raw[1] = b;
  if (u->state == kLength || u->state == kPayload) u->crc = TVMCrc16Update(u->crc, raw, two ? 2 : 1);
}

size_t TVMUnframer_Feed(TVMUnframer* u, const uint8_t* data, size_t len,
                        tvm_unframer_event_t* event) {
  size_t i;
  *event = kTVMUnframerNone;
  for (i = 0; i < len; i++) {
    uint8_t b = data[i];
    tvm_unframer_event_t ev = kTVMUnframerNone;
    if (u->escape_pending) {
      u->escape_pending = 0;
      if (b == TVM_FRAMING_START) {
        int abandoned = u->state != kHunt;
        StartPacket(u);
        if (abandoned) {
          u->num_short++;
          ev = kTVMUnframerShortPacket;
        }
      } else if (u->state == kHunt) {
        /* Any other pair while hunting is ignored. */
      } else if (b == TVM_FRAMING_NOP) {
        CrcRaw(u, TVM_FRAMING_ESCAPE, TVM_FRAMING_NOP, 1);
      } else if (b == TVM_FRAMING_ESCAPE) {
        CrcRaw(u, TVM_FRAMING_ESCAPE, TVM_FRAMING_ESCAPE, 1);
        ev = Deliver(u, TVM_FRAMING_ESCAPE);
      } else {
        u->state = kHunt;
        u->length = 0;
        u->num_invalid_escape++;
        ev = kTVMUnframerInvalidEscape;
      }
    } else if (b == TVM_FRAMING_ESCAPE) {
      u->escape_pending = 1;
    } else if (u->state != kHunt) {
      CrcRaw(u, b, 0, 0);
      ev = Deliver(u, b);
    }
    if (ev != kTVMUnframerNone) {
      *event = ev;
      return i + 1;
    }
  }
  return len;
}
