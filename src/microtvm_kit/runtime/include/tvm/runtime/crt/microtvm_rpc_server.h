/*
 * The device's RPC server: feed it received bytes, it writes replies through the callback.
 * Same shapes as TVM's CRT so a firmware main loop works with either runtime.
 */
#ifndef TVM_RUNTIME_CRT_MICROTVM_RPC_SERVER_H_
#define TVM_RUNTIME_CRT_MICROTVM_RPC_SERVER_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes 1..num_bytes bytes and returns how many; 0 or negative is an error. */
typedef ssize_t (*microtvm_rpc_channel_write_t)(void* context, const uint8_t* data,
                                                size_t num_bytes);

typedef void* microtvm_rpc_server_t;

/* Initialises the runtime, registers tvm.aot_executor.create, sends the session reset.
 * Aborts through TVMPlatformAbort on failure. */
microtvm_rpc_server_t MicroTVMRpcServerInit(microtvm_rpc_channel_write_t write_func,
                                            void* write_func_ctx);

/* Consumes *new_data_size_bytes bytes at *new_data and processes every message they complete.
 * Advances *new_data / decreases *new_data_size_bytes by what was consumed. Returns 0,
 * kTvmErrorPlatformShutdown after a Shutdown request, or a framing/stream error. */
tvm_crt_error_t MicroTVMRpcServerLoop(microtvm_rpc_server_t server, uint8_t** new_data,
                                      size_t* new_data_size_bytes);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_MICROTVM_RPC_SERVER_H_ */
