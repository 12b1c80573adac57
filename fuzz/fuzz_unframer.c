/*
 * libFuzzer harness: arbitrary bytes into the unframer, fed in chunks whose sizes come from the
 * input itself. Checks that every reported packet fits the buffer and that re-framing a reported
 * packet and feeding it back yields the same payload.
 */
#include <stdlib.h>
#include <string.h>
#include <tvm/runtime/crt/internal/rpc_common.h>

#define CAPACITY 256

static uint8_t g_out[4 * CAPACITY + 64];
static size_t g_out_len;

static ssize_t Collect(void* ctx, const uint8_t* data, size_t n) {
  (void)ctx;
  if (g_out_len + n > sizeof(g_out)) abort();
  memcpy(g_out + g_out_len, data, n);
  g_out_len += n;
  return (ssize_t)n;
}

static void CheckRoundTrip(const uint8_t* payload, size_t len) {
  static uint8_t buf2[CAPACITY];
  TVMFramer f;
  TVMUnframer u2;
  tvm_unframer_event_t ev = kTVMUnframerNone;
  size_t pos = 0;
  g_out_len = 0;
  TVMFramer_Init(&f, Collect, NULL);
  if (TVMFramer_StartPacket(&f, (uint32_t)len) || TVMFramer_WritePayload(&f, payload, len) ||
      TVMFramer_FinishPacket(&f)) {
    abort();
  }
  TVMUnframer_Init(&u2, buf2, sizeof(buf2));
  while (pos < g_out_len) {
    pos += TVMUnframer_Feed(&u2, g_out + pos, g_out_len - pos, &ev);
    if (ev != kTVMUnframerNone) break;
  }
  if (ev != kTVMUnframerPacket || u2.length != len || memcmp(buf2, payload, len) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint8_t buffer[CAPACITY];
  static uint8_t copy[CAPACITY];
  TVMUnframer u;
  size_t pos = 0;
  size_t chunk = size ? (size_t)(data[0] % 17) + 1 : 1;
  TVMUnframer_Init(&u, buffer, sizeof(buffer));
  while (pos < size) {
    tvm_unframer_event_t ev;
    size_t n = size - pos < chunk ? size - pos : chunk;
    size_t used = TVMUnframer_Feed(&u, data + pos, n, &ev);
    if (used == 0 || used > n) abort(); /* always progresses, never over-consumes */
    pos += used;
    if (ev == kTVMUnframerPacket) {
      if (u.length > CAPACITY) abort();
      if (!u.overflow) {
        size_t len = u.length;
        memcpy(copy, buffer, len);
        CheckRoundTrip(copy, len);
      }
    }
  }
  return 0;
}
