/*
 * A device in a host process: the RPC server fed from stdin, replies on stdout. Link it with a
 * model's system library (or without one). Exits 0 on EOF or after a Shutdown request.
 * Options: -c N  feed the server in chunks of at most N bytes (default 4096).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tvm/runtime/crt/graph_executor_module.h>
#include <tvm/runtime/crt/logging.h>
#include <tvm/runtime/crt/microtvm_rpc_server.h>
#include <tvm/runtime/crt/platform.h>

static ssize_t WriteStdout(void* ctx, const uint8_t* data, size_t n) {
  (void)ctx;
  for (;;) {
    ssize_t w = write(STDOUT_FILENO, data, n);
    if (w >= 0) return w == 0 ? -1 : w;
    return -1;
  }
}

int main(int argc, char** argv) {
  static uint8_t buf[4096];
  size_t chunk = sizeof(buf);
  microtvm_rpc_server_t server;
  int opt;
  while ((opt = getopt(argc, argv, "c:")) != -1) {
    if (opt == 'c') chunk = (size_t)atoi(optarg);
  }
  if (chunk == 0 || chunk > sizeof(buf)) chunk = sizeof(buf);
  if (TVMPlatformInitialize() != kTvmErrorNoError) return 2;
  server = MicroTVMRpcServerInit(WriteStdout, NULL);
#ifdef DEVICE_WITH_GRAPH_EXECUTOR
  if (TVMGraphExecutorModule_Register() != kTvmErrorNoError) return 3;
#endif
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, chunk);
    uint8_t* p = buf;
    size_t left;
    if (n <= 0) return 0;
    left = (size_t)n;
    while (left > 0) {
      tvm_crt_error_t err = MicroTVMRpcServerLoop(server, &p, &left);
      if (err == kTvmErrorPlatformShutdown) return 0;
      if (err != kTvmErrorNoError) {
        fprintf(stderr, "MicroTVMRpcServerLoop: error 0x%x\n", (unsigned)err);
        return 1;
      }
    }
  }
}
