/*
 * libFuzzer harness: the session state machine. The input is a list of messages
 * (1 length byte + payload); each goes through TVMSession_HandlePacket. Checks that delivered
 * Normal bodies lie inside the message and only arrive for the established session id.
 */
#include <stdlib.h>
#include <tvm/runtime/crt/internal/rpc_common.h>

static ssize_t Sink(void* ctx, const uint8_t* data, size_t n) {
  (void)ctx;
  (void)data;
  return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TVMFramer framer;
  TVMSession s;
  size_t pos = 0;
  TVMFramer_Init(&framer, Sink, NULL);
  TVMSession_Init(&s, &framer, size ? data[0] : 0x5a);
  while (pos < size) {
    size_t len = data[pos++];
    const uint8_t* body = NULL;
    size_t body_len = 0;
    tvm_crt_error_t err;
    if (len > size - pos) len = size - pos;
    if (TVMSession_HandlePacket(&s, data + pos, len, &body, &body_len, &err)) {
      if (!s.established || body != data + pos + 3 || body_len != len - 3) abort();
      if ((uint16_t)(data[pos] | (data[pos + 1] << 8)) != s.session_id) abort();
    }
    if (err != kTvmErrorNoError) abort();
    if (s.established && ((s.session_id & 0xff) == 0 || (s.session_id >> 8) == 0)) abort();
    pos += len;
  }
  return 0;
}
