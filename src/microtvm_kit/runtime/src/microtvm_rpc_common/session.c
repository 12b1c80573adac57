/*
 * Session layer, responder side (the device never initiates). Differences from TVM's: messages
 * that are not for the established session are dropped without blocking later ones, and a stray
 * StartSessionReply does not tear the session down.
 */
#include <tvm/runtime/crt/internal/rpc_common.h>

uint8_t TVMSession_NextNonce(uint8_t n) {
  uint8_t next = (uint8_t)((uint8_t)((uint8_t)(n << 5) | (uint8_t)(n >> 5)) + 1);
  return next == 0 ? 1 : next;
}

void TVMSession_Init(TVMSession* s, TVMFramer* framer, uint8_t nonce_seed) {
  s->framer = framer;
  s->session_id = 0;
  s->local_nonce = nonce_seed;
  s->established = 0;
}

tvm_crt_error_t TVMSession_SendMessage(TVMSession* s, uint8_t type, uint16_t session_id,
                                       const TVMSessionSegment* segments, size_t num_segments) {
  uint8_t header[TVM_SESSION_HEADER_BYTES];
  size_t total = TVM_SESSION_HEADER_BYTES;
  size_t i;
  tvm_crt_error_t err;
  for (i = 0; i < num_segments; i++) total += segments[i].len;
  header[0] = (uint8_t)(session_id & 0xff);
  header[1] = (uint8_t)(session_id >> 8);
  header[2] = type;
  err = TVMFramer_StartPacket(s->framer, (uint32_t)total);
  if (err == kTvmErrorNoError) err = TVMFramer_WritePayload(s->framer, header, sizeof(header));
  for (i = 0; i < num_segments && err == kTvmErrorNoError; i++) {
    err = TVMFramer_WritePayload(s->framer, (const uint8_t*)segments[i].data, segments[i].len);
  }
  if (err == kTvmErrorNoError) err = TVMFramer_FinishPacket(s->framer);
  return err;
}

tvm_crt_error_t TVMSession_SendTerminate(TVMSession* s) {
  s->session_id = 0;
  s->established = 0;
  return TVMSession_SendMessage(s, kTVMSessionTerminate, 0, NULL, 0);
}

int TVMSession_HandlePacket(TVMSession* s, const uint8_t* payload, size_t len,
                            const uint8_t** body, size_t* body_len, tvm_crt_error_t* err) {
  uint16_t id;
  uint8_t type;
  *err = kTvmErrorNoError;
  if (len < TVM_SESSION_HEADER_BYTES) return 0; /* too short to be a message */
  id = (uint16_t)(payload[0] | (payload[1] << 8));
  type = payload[2];
  switch (type) {
    case kTVMSessionStartInit: {
      uint8_t version = TVM_SESSION_PROTOCOL_VERSION;
      TVMSessionSegment seg;
      uint8_t initiator = (uint8_t)(id & 0xff);
      if (initiator == 0 || len < TVM_SESSION_HEADER_BYTES + 1) return 0;
      /* Always answered, also while established (re-attach keeps all RPC state). */
      s->local_nonce = TVMSession_NextNonce(s->local_nonce);
      s->session_id = (uint16_t)(initiator | (s->local_nonce << 8));
      s->established = 1;
      seg.data = &version;
      seg.len = 1;
      *err = TVMSession_SendMessage(s, kTVMSessionStartReply, s->session_id, &seg, 1);
      return 0;
    }
    case kTVMSessionTerminate:
      if (s->established) {
        s->established = 0;
        s->session_id = 0;
      }
      return 0;
    case kTVMSessionNormal:
      if (!s->established || id != s->session_id) return 0;
      *body = payload + TVM_SESSION_HEADER_BYTES;
      *body_len = len - TVM_SESSION_HEADER_BYTES;
      return 1;
    default:
      return 0; /* StartSessionReply, Log and unknown types: nothing to do on the device */
  }
}
