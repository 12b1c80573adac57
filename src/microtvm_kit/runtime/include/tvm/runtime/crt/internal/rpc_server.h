/* Internals of the RPC server shared by its files and the fuzz harnesses. */
#ifndef TVM_RUNTIME_CRT_INTERNAL_RPC_SERVER_H_
#define TVM_RUNTIME_CRT_INTERNAL_RPC_SERVER_H_

#include <tvm/runtime/crt/internal/rpc_common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  TVMUnframer unframer;
  TVMFramer framer;
  TVMSession session;
  uint8_t* receive_buffer;
  uint8_t* arena; /* decoded arguments of the current request */
  size_t arena_size;
  size_t arena_used;
  int shutdown;
} TVMRpcServer;

/* Answers one RPC packet (the body of a Normal message). Returns a write error, else 0. */
tvm_crt_error_t TVMRpcServer_HandleRequest(TVMRpcServer* server, const uint8_t* packet,
                                           size_t len);
/* Sends an Exception carrying `message` (truncated to fit the packet size). */
tvm_crt_error_t TVMRpcServer_SendException(TVMRpcServer* server, const char* message);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_INTERNAL_RPC_SERVER_H_ */
