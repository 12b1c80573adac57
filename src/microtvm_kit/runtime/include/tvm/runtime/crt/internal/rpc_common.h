/*
 * Framing and session layers of the microTVM wire protocol as pure state machines: bytes in,
 * events out (unframer); messages in, bytes out through a write callback (framer, session).
 * Shared by the RPC server and the fuzz harnesses.
 */
#ifndef TVM_RUNTIME_CRT_INTERNAL_RPC_COMMON_H_
#define TVM_RUNTIME_CRT_INTERNAL_RPC_COMMON_H_

#include <stddef.h>
#include <stdint.h>
#include <tvm/runtime/crt/error_codes.h>
#include <tvm/runtime/crt/microtvm_rpc_server.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Framing bytes (docs/micro.md). */
#define TVM_FRAMING_ESCAPE 0xff
#define TVM_FRAMING_NOP 0xfe
#define TVM_FRAMING_START 0xfd
/* CRC-16/CCITT-FALSE initial value. */
#define TVM_FRAMING_CRC_INIT 0xffff
/* Largest chunk handed to the write callback at once (TVM also writes at most 128). */
#define TVM_FRAMER_STAGING_BYTES 128

uint16_t TVMCrc16Update(uint16_t crc, const uint8_t* data, size_t len);

/* ---- unframer ---- */

typedef enum {
  kTVMUnframerNone = 0,        /* all input consumed, no packet completed */
  kTVMUnframerPacket = 1,      /* a packet with a valid CRC is in the buffer */
  kTVMUnframerBadCrc = 2,      /* a packet was dropped: CRC mismatch */
  kTVMUnframerShortPacket = 3, /* a packet was abandoned by a new start sequence */
  kTVMUnframerInvalidEscape = 4,
} tvm_unframer_event_t;

typedef struct {
  uint8_t* buffer;
  size_t capacity;
  size_t length;     /* payload bytes stored (<= capacity) */
  uint32_t expected; /* LEN field */
  uint32_t received; /* payload bytes seen */
  uint16_t crc;
  uint16_t received_crc;
  uint8_t state;
  uint8_t escape_pending;
  uint8_t field_bytes; /* LEN or CRC bytes seen */
  uint8_t overflow;    /* payload longer than capacity: only the start was stored */
  /* Counters for diagnostics and tests. */
  uint32_t num_packets, num_bad_crc, num_short, num_invalid_escape;
} TVMUnframer;

void TVMUnframer_Init(TVMUnframer* u, uint8_t* buffer, size_t capacity);
/* Consumes bytes until the end of input or until an event; returns the bytes consumed and
 * stores the event. After kTVMUnframerPacket the payload is buffer[0..length) (overflow set when
 * it was cut) and stays valid until the next call. */
size_t TVMUnframer_Feed(TVMUnframer* u, const uint8_t* data, size_t len,
                        tvm_unframer_event_t* event);

/* ---- framer ---- */

typedef struct {
  microtvm_rpc_channel_write_t write;
  void* context;
  uint16_t crc;
  uint8_t need_nop_prefix; /* before the first packet and after a failed write */
  size_t staged;
  uint8_t staging[TVM_FRAMER_STAGING_BYTES];
} TVMFramer;

void TVMFramer_Init(TVMFramer* f, microtvm_rpc_channel_write_t write, void* context);
tvm_crt_error_t TVMFramer_StartPacket(TVMFramer* f, uint32_t payload_len);
tvm_crt_error_t TVMFramer_WritePayload(TVMFramer* f, const uint8_t* data, size_t len);
tvm_crt_error_t TVMFramer_FinishPacket(TVMFramer* f);

/* ---- session ---- */

typedef enum {
  kTVMSessionStartInit = 0x00,
  kTVMSessionStartReply = 0x01,
  kTVMSessionTerminate = 0x02,
  kTVMSessionLog = 0x03,
  kTVMSessionNormal = 0x10,
} tvm_session_message_type_t;

#define TVM_SESSION_HEADER_BYTES 3
#define TVM_SESSION_PROTOCOL_VERSION 1

typedef struct {
  TVMFramer* framer;
  uint16_t session_id;
  uint8_t local_nonce;
  uint8_t established;
} TVMSession;

/* Next nonce (docs/micro.md). */
uint8_t TVMSession_NextNonce(uint8_t n);
void TVMSession_Init(TVMSession* s, TVMFramer* framer, uint8_t nonce_seed);
/* Sends TerminateSession (id 0) and forgets any session. */
tvm_crt_error_t TVMSession_SendTerminate(TVMSession* s);

/* Segment of a message body. */
typedef struct {
  const void* data;
  size_t len;
} TVMSessionSegment;

tvm_crt_error_t TVMSession_SendMessage(TVMSession* s, uint8_t type, uint16_t session_id,
                                       const TVMSessionSegment* segments, size_t num_segments);

/* Handles one received packet. Returns 1 and sets *body and *body_len when it is a Normal message
 * for the established session (the caller answers it), 0 when it was consumed here (handshake,
 * terminate, ignored or dropped messages). *err receives any write error of a handshake reply. */
int TVMSession_HandlePacket(TVMSession* s, const uint8_t* payload, size_t len,
                            const uint8_t** body, size_t* body_len, tvm_crt_error_t* err);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_INTERNAL_RPC_COMMON_H_ */
