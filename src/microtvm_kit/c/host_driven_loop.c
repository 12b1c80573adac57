/* The device side of a host-driven session: every received byte goes to the microTVM RPC server,
 * whose replies go back out through the port. Built with PROJECTAPI_GRAPH_EXECUTOR (graph
 * models), the device also offers tvm.graph_executor.create. */
#include <sys/types.h>

#include <tvm/runtime/crt/error_codes.h>
#include <tvm/runtime/crt/microtvm_rpc_server.h>
#ifdef PROJECTAPI_GRAPH_EXECUTOR
#include <tvm/runtime/crt/graph_executor_module.h>
#endif

#include "projectapi_loops.h"
#include "projectapi_port.h"

#define RECEIVE_CHUNK_BYTES 512

static ssize_t write_to_port(void* context, const uint8_t* data, size_t num_bytes) {
  (void)context;
  return projectapi_port_write(data, num_bytes) == 0 ? (ssize_t)num_bytes : -1;
}

int projectapi_host_driven_serve(void) {
  microtvm_rpc_server_t server = MicroTVMRpcServerInit(write_to_port, NULL);
#ifdef PROJECTAPI_GRAPH_EXECUTOR
  if (TVMGraphExecutorModule_Register() != kTvmErrorNoError) return 1;
#endif
  uint8_t chunk[RECEIVE_CHUNK_BYTES];
  for (;;) {
    size_t received = projectapi_port_read(chunk, sizeof(chunk));
    if (received == 0) return 0;
    uint8_t* data = chunk;
    size_t remaining = received;
    while (remaining > 0) {
      size_t before = remaining;
      tvm_crt_error_t err = MicroTVMRpcServerLoop(server, &data, &remaining);
      if (err == kTvmErrorPlatformShutdown) return 0;
      if (err == kTvmErrorWriteStreamShortWrite) return 1;
      /* Framing and session errors resynchronise inside the server; keep feeding the rest, but
       * never spin on bytes the server refuses to consume. */
      if (err != kTvmErrorNoError && remaining == before) break;
    }
  }
}
