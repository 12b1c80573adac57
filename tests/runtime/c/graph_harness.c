/*
 * Runs a graph model with the device-side graph executor, no RPC:
 *   graph_harness GRAPH.json PARAMS|- INPUT.bin OUTPUT.bin
 * The model's system library is linked in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/graph_executor.h>
#include <tvm/runtime/crt/platform.h>

static char* ReadFile(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  char* buf;
  long n;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (char*)malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) return NULL;
  fclose(f);
  buf[n] = 0;
  *len = (size_t)n;
  return buf;
}

int main(int argc, char** argv) {
  TVMFunctionHandle syslib = NULL;
  TVMValue ret;
  int ret_code;
  size_t json_len, params_len = 0, in_len;
  char *json, *params = NULL, *input;
  TVMGraphExecutor* ex = NULL;
  DLDevice cpu = {kDLCPU, 0};
  TVMNDArray* in;
  TVMNDArray* out;
  FILE* f;
  if (argc < 5) return 2;
  json = ReadFile(argv[1], &json_len);
  input = ReadFile(argv[3], &in_len);
  if (!json || !input) return 3;
  if (strcmp(argv[2], "-") != 0 && !(params = ReadFile(argv[2], &params_len))) return 3;
  if (TVMPlatformInitialize() || TVMInitializeRuntime()) return 4;
  if (TVMFuncGetGlobal("runtime.SystemLib", &syslib) || TVMFuncCall(syslib, NULL, NULL, 0, &ret, &ret_code)) return 5;
  if (TVMGraphExecutor_Create(json, json_len, ret.v_handle, cpu, &ex)) {
    fprintf(stderr, "create: %s\n", TVMGetLastError());
    return 6;
  }
  if (params && TVMGraphExecutor_LoadParams(ex, params, params_len)) {
    fprintf(stderr, "load_params: %s\n", TVMGetLastError());
    return 7;
  }
  in = TVMGraphExecutor_GetInput(ex, TVMGraphExecutor_GetInputIndex(ex, "Input3"));
  if (!in || (size_t)TVMNDArray_DataSizeBytes(&in->dl_tensor) != in_len) return 8;
  memcpy(in->dl_tensor.data, input, in_len);
  if (TVMGraphExecutor_Run(ex)) {
    fprintf(stderr, "run: %s\n", TVMGetLastError());
    return 9;
  }
  out = TVMGraphExecutor_GetOutput(ex, 0);
  f = fopen(argv[4], "wb");
  if (!f || fwrite(out->dl_tensor.data, 1, (size_t)TVMNDArray_DataSizeBytes(&out->dl_tensor), f) == 0) return 10;
  fclose(f);
  TVMGraphExecutor_Release(ex);
  return 0;
}
