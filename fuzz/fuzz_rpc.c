/*
 * libFuzzer harness: the whole device stack (unframer, session, MinRPC decoder and dispatcher)
 * behind MicroTVMRpcServerLoop. The input is one RPC packet; the harness frames it as a Normal
 * message of an established session. Requests that by design write or free device memory at
 * host-supplied addresses (copies, DevFreeData, FreeHandle of arrays) are skipped: the protocol
 * trusts the host with raw pointers. Every other request must be answered with exactly one reply.
 */
#include <stdlib.h>
#include <string.h>
#include <tvm/runtime/crt/internal/rpc_common.h>
#include <tvm/runtime/crt/microtvm_rpc_server.h>
#include <tvm/runtime/crt/platform.h>


static unsigned g_frames_out;
static uint8_t g_last[4096];
static size_t g_last_len;

static ssize_t Count(void* ctx, const uint8_t* data, size_t n) {
  size_t i;
  (void)ctx;
  for (i = 0; i + 1 < n; i++) {
    if (data[i] == 0xff && data[i + 1] == 0xfd) g_frames_out++;
  }
  if (n <= sizeof(g_last)) {
    memcpy(g_last, data, n);
    g_last_len = n;
  }
  return (ssize_t)n;
}

static microtvm_rpc_server_t g_server;
static uint16_t g_session_id;

static void Feed(const uint8_t* bytes, size_t n) {
  uint8_t* p = (uint8_t*)bytes;
  size_t left = n;
  while (left > 0) {
    tvm_crt_error_t err = MicroTVMRpcServerLoop(g_server, &p, &left);
    if (err == kTvmErrorPlatformShutdown) abort(); /* shutdown requests are filtered out */
    if (err != kTvmErrorNoError) abort();
  }
}

/* Frames payload (header + body) into out; returns the length. */
static size_t Frame(const uint8_t* payload, size_t len, uint8_t* out) {
  size_t o = 0, i;
  uint8_t hdr[6];
  uint16_t crc;
  hdr[0] = 0xff;
  hdr[1] = 0xfd;
  hdr[2] = (uint8_t)len;
  hdr[3] = (uint8_t)(len >> 8);
  hdr[4] = (uint8_t)(len >> 16);
  hdr[5] = (uint8_t)(len >> 24);
  for (i = 0; i < 6; i++) {
    out[o++] = hdr[i];
    if (i >= 2 && hdr[i] == 0xff) out[o++] = 0xff;
  }
  for (i = 0; i < len; i++) {
    out[o++] = payload[i];
    if (payload[i] == 0xff) out[o++] = 0xff;
  }
  crc = TVMCrc16Update(0xffff, out, o);
  out[o++] = (uint8_t)crc;
  if ((crc & 0xff) == 0xff) out[o++] = 0xff;
  out[o++] = (uint8_t)(crc >> 8);
  if ((crc >> 8) == 0xff) out[o++] = 0xff;
  return o;
}

static void Setup(void) {
  static const uint8_t kInit[4] = {0x5a, 0x00, 0x00, 0x01};
  static uint8_t framed[32];
  size_t n;
  TVMPlatformInitialize();
  g_server = MicroTVMRpcServerInit(Count, NULL);
  n = Frame(kInit, sizeof(kInit), framed);
  Feed(framed, n);
  /* StartSessionReply: FF FD 04 00 00 00 5A <nonce> 01 01 ... */
  g_session_id = (uint16_t)(0x5a | (g_last[7] << 8));
}

static int Skip(const uint8_t* data, size_t size) {
  int32_t code;
  if (size < 12) return 0;
  memcpy(&code, data + 8, 4);
  if (code == 1 || code == 6 || code == 7 || code == 14 || code == 16) return 1;
  if (code == 10) return 1; /* FreeHandle: may name an array address */
  if (code == 3 && size >= 20) {
    /* Calls of functions that take tensors (addresses): random_fill, executor functions. */
    uint32_t handle;
    memcpy(&handle, data + 12, 4);
    if (handle == 0x80028004u || (handle >> 16) != 0x8002u) return 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint8_t payload[2048];
  static uint8_t framed[4200];
  unsigned before;
  size_t n;
  uint64_t announced;
  if (g_server == NULL) Setup();
  if (size + 3 > sizeof(payload) || Skip(data, size)) return 0;
  payload[0] = (uint8_t)g_session_id;
  payload[1] = (uint8_t)(g_session_id >> 8);
  payload[2] = 0x10;
  memcpy(payload + 3, data, size);
  n = Frame(payload, size + 3, framed);
  before = g_frames_out;
  Feed(framed, n);
  /* One reply per request, except for an empty packet (MinRPC sends nothing). */
  announced = 1;
  if (size >= 8) memcpy(&announced, data, 8);
  if (announced != 0 && g_frames_out == before) abort();
  return 0;
}
