/*
 * The device's RPC server object: receive buffer, unframer, session, and the byte pump
 * MicroTVMRpcServerLoop. Also TVMLogf, which sends log lines to the host.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/aot_executor_module.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/internal/config.h>
#include <tvm/runtime/crt/internal/rpc_server.h>
#include <tvm/runtime/crt/logging.h>
#include <tvm/runtime/crt/microtvm_rpc_server.h>
#include <tvm/runtime/crt/platform.h>

/* Decoded arguments take at most ~3x the request bytes (a 4-byte Nullptr argument becomes a
 * 12-byte value + type code); plus room for alignment. */
#define TVM_RPC_ARENA_BYTES (3 * TVM_CRT_MAX_PACKET_SIZE_BYTES + 256)
/* TVMLogf's formatting buffer, as TVM's (255 characters + terminator). */
#define TVM_LOG_BUFFER_BYTES 256

static TVMRpcServer* g_server;

microtvm_rpc_server_t MicroTVMRpcServerInit(microtvm_rpc_channel_write_t write_func,
                                            void* write_func_ctx) {
  static const DLDevice kCPU = {kDLCPU, 0};
  TVMRpcServer* server = NULL;
  uint8_t seed = 0;
  tvm_crt_error_t err = TVMInitializeRuntime();
  if (err != kTvmErrorNoError) TVMPlatformAbort(err);
  err = TVMAotExecutorModule_Register();
  if (err != kTvmErrorNoError) TVMPlatformAbort(err);
  err = TVMPlatformMemoryAllocate(sizeof(TVMRpcServer), kCPU, (void**)&server);
  if (err != kTvmErrorNoError) TVMPlatformAbort(err);
  memset(server, 0, sizeof(*server));
  err = TVMPlatformMemoryAllocate(TVM_CRT_MAX_PACKET_SIZE_BYTES, kCPU,
                                  (void**)&server->receive_buffer);
  if (err != kTvmErrorNoError) TVMPlatformAbort(err);
  err = TVMPlatformMemoryAllocate(TVM_RPC_ARENA_BYTES, kCPU, (void**)&server->arena);
  if (err != kTvmErrorNoError) TVMPlatformAbort(err);
  server->arena_size = TVM_RPC_ARENA_BYTES;
  TVMUnframer_Init(&server->unframer, server->receive_buffer, TVM_CRT_MAX_PACKET_SIZE_BYTES);
  TVMFramer_Init(&server->framer, write_func, write_func_ctx);
  err = TVMPlatformGenerateRandom(&seed, 1);
  if (err != kTvmErrorNoError) TVMPlatformAbort(err);
  TVMSession_Init(&server->session, &server->framer, seed);
  g_server = server;
  err = TVMSession_SendTerminate(&server->session);
  if (err != kTvmErrorNoError) TVMPlatformAbort(err);
  return server;
}

/* A complete packet is in the receive buffer: pass it through the session layer. */
static tvm_crt_error_t HandlePacket(TVMRpcServer* server) {
  TVMUnframer* u = &server->unframer;
  const uint8_t* body = NULL;
  size_t body_len = 0;
  tvm_crt_error_t err = kTvmErrorNoError;
  if (u->overflow) {
    /* Too large to process. Answer a Normal request of our session with an Exception so the
     * host learns why instead of waiting; drop anything else. */
    const uint8_t* p = u->buffer;
    if (u->length >= TVM_SESSION_HEADER_BYTES && p[2] == kTVMSessionNormal &&
        server->session.established &&
        (uint16_t)(p[0] | (p[1] << 8)) == server->session.session_id) {
      char msg[128];
      snprintf(msg, sizeof(msg),
               "request of %lu bytes exceeds the device's packet size "
               "TVM_CRT_MAX_PACKET_SIZE_BYTES=%d",
               (unsigned long)u->expected, TVM_CRT_MAX_PACKET_SIZE_BYTES);
      return TVMRpcServer_SendException(server, msg);
    }
    return kTvmErrorNoError;
  }
  if (TVMSession_HandlePacket(&server->session, u->buffer, u->length, &body, &body_len, &err)) {
    return TVMRpcServer_HandleRequest(server, body, body_len);
  }
  return err;
}

tvm_crt_error_t MicroTVMRpcServerLoop(microtvm_rpc_server_t server_handle, uint8_t** new_data,
                                      size_t* new_data_size_bytes) {
  TVMRpcServer* server = (TVMRpcServer*)server_handle;
  while (*new_data_size_bytes > 0) {
    tvm_unframer_event_t event;
    size_t used;
    if (server->shutdown) return kTvmErrorPlatformShutdown;
    used = TVMUnframer_Feed(&server->unframer, *new_data, *new_data_size_bytes, &event);
    *new_data += used;
    *new_data_size_bytes -= used;
    if (event == kTVMUnframerPacket) {
      tvm_crt_error_t err = HandlePacket(server);
      if (err != kTvmErrorNoError) return err;
    }
    /* Corrupted or abandoned packets were discarded by the unframer; keep going. */
  }
  return server->shutdown ? kTvmErrorPlatformShutdown : kTvmErrorNoError;
}

void TVMLogf(const char* fmt, ...) {
  char buf[TVM_LOG_BUFFER_BYTES];
  size_t n;
  va_list args;
  TVMSessionSegment seg;
  if (g_server == NULL) return; /* no channel yet: nothing to send through */
  va_start(args, fmt);
  n = TVMPlatformFormatMessage(buf, sizeof(buf), fmt, args);
  va_end(args);
  if (n >= sizeof(buf)) n = sizeof(buf) - 1; /* never trust a platform to clamp */
  if (n > 0 && buf[n - 1] == '\n') n--;
  seg.data = buf;
  seg.len = n;
  /* A failed log write is not fatal: the next reply will show whether the link works. */
  (void)TVMSession_SendMessage(&g_server->session, kTVMSessionLog, 0, &seg, 1);
}
