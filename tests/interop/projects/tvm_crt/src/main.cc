// The TVM-style template's program: a host-driven microTVM device whose transport is
// stdin/stdout, driving the runtime only through the C API of microtvm_rpc_server.h.
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <tvm/runtime/crt/graph_executor_module.h>
#include <tvm/runtime/crt/microtvm_rpc_server.h>
#include <tvm/runtime/crt/platform.h>

namespace {

ssize_t WriteToHost(void* context, const uint8_t* data, size_t size) {
  (void)context;
  return write(STDOUT_FILENO, data, size);
}

}  // namespace

int main() {
  signal(SIGPIPE, SIG_IGN);
  if (TVMPlatformInitialize() != kTvmErrorNoError) {
    fprintf(stderr, "platform initialisation failed\n");
    return 1;
  }
  microtvm_rpc_server_t rpc_server = MicroTVMRpcServerInit(WriteToHost, nullptr);
  if (TVMGraphExecutorModule_Register() != kTvmErrorNoError) {
    fprintf(stderr, "cannot register the graph executor\n");
    return 1;
  }
  uint8_t received[512];
  for (;;) {
    ssize_t count = read(STDIN_FILENO, received, sizeof(received));
    if (count <= 0) return 0;
    uint8_t* data = received;
    size_t remaining = static_cast<size_t>(count);
    while (remaining > 0) {
      size_t before = remaining;
      tvm_crt_error_t error = MicroTVMRpcServerLoop(rpc_server, &data, &remaining);
      if (error == kTvmErrorPlatformShutdown) return 0;
      if (error != kTvmErrorNoError && remaining == before) break;
    }
  }
}
