/*
 * Runs one TVM-generated AOT model once: aot_harness INPUT.bin OUTPUT.bin.
 * Build with exactly one of:
 *   -DHARNESS_C_INTERFACE -DIN_MEMBER=<input member> -DOUT_MEMBER=<output member>
 *   -DHARNESS_PACKED  (calls tvmgen_default_run with DLTensor arguments)
 *   -DHARNESS_SYSLIB  (finds tvmgen_default_run through runtime.SystemLib and TVMFuncCall)
 * and -DIN_BYTES=<n> -DOUT_BYTES=<n>; packed variants also need IN_SHAPE/OUT_SHAPE initialisers,
 * IN_NDIM/OUT_NDIM and IN_DTYPE/OUT_DTYPE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/platform.h>

#ifdef HARNESS_C_INTERFACE
#include <tvmgen_default.h>
#else
#include <tvm/runtime/c_backend_api.h>
int32_t tvmgen_default_run(TVMValue* args, int* type_code, int num_args, TVMValue* out_value,
                           int* out_type_code, void* resource_handle);
#endif

static float g_in[(IN_BYTES + 3) / 4 + 4];
static float g_out[(OUT_BYTES + 3) / 4 + 4];

int main(int argc, char** argv) {
  FILE* f;
  int rc;
  if (argc != 3) return 2;
  f = fopen(argv[1], "rb");
  if (!f || fread(g_in, 1, IN_BYTES, f) != IN_BYTES) return 3;
  fclose(f);
  if (TVMPlatformInitialize() != 0) return 4;
#ifdef HARNESS_C_INTERFACE
  {
    struct tvmgen_default_inputs inputs;
    struct tvmgen_default_outputs outputs;
    inputs.IN_MEMBER = g_in;
    outputs.OUT_MEMBER = g_out;
    rc = tvmgen_default_run(&inputs, &outputs);
  }
#else
  {
    int64_t in_shape[] = IN_SHAPE;
    int64_t out_shape[] = OUT_SHAPE;
    DLTensor in_t, out_t;
    TVMValue args[TVM_CRT_MAX_ARGS_HARNESS];
    int codes[TVM_CRT_MAX_ARGS_HARNESS];
    TVMValue ret;
    int ret_code = 0, i;
    memset(&in_t, 0, sizeof(in_t));
    memset(&out_t, 0, sizeof(out_t));
    in_t.data = g_in;
    in_t.device.device_type = kDLCPU;
    in_t.ndim = IN_NDIM;
    in_t.dtype = (DLDataType)IN_DTYPE;
    in_t.shape = in_shape;
    out_t.data = g_out;
    out_t.device.device_type = kDLCPU;
    out_t.ndim = OUT_NDIM;
    out_t.dtype = (DLDataType)OUT_DTYPE;
    out_t.shape = out_shape;
    /* The generated main reads a type code for every pool slot too: keep all readable. */
    for (i = 0; i < TVM_CRT_MAX_ARGS_HARNESS; i++) {
      codes[i] = kTVMDLTensorHandle;
      args[i].v_handle = NULL;
    }
    args[0].v_handle = &in_t;
    args[1].v_handle = &out_t;
#ifdef HARNESS_SYSLIB
    {
      TVMFunctionHandle syslib_f = NULL, getf = NULL, run = NULL;
      TVMValue a[3];
      int c[3];
      if (TVMInitializeRuntime() != 0) return 5;
      if (TVMFuncGetGlobal("runtime.SystemLib", &syslib_f) != 0 || !syslib_f) return 6;
      if (TVMFuncCall(syslib_f, NULL, NULL, 0, &ret, &ret_code) != 0) return 7;
      if (ret_code != kTVMModuleHandle) return 8;
      a[0] = ret;
      c[0] = kTVMModuleHandle;
      a[1].v_str = "tvmgen_default_run";
      c[1] = kTVMStr;
      a[2].v_int64 = 1;
      c[2] = kTVMArgInt;
      if (TVMFuncGetGlobal("tvm.rpc.server.ModuleGetFunction", &getf) != 0 || !getf) return 9;
      if (TVMFuncCall(getf, a, c, 3, &ret, &ret_code) != 0) return 10;
      if (ret_code != kTVMPackedFuncHandle) return 11;
      run = ret.v_handle;
      rc = TVMFuncCall(run, args, codes, 2, &ret, &ret_code);
    }
#else
    rc = tvmgen_default_run(args, codes, 2, &ret, &ret_code, NULL);
#endif
  }
#endif
  if (rc != 0) {
    fprintf(stderr, "run failed: %d %s\n", rc, TVMGetLastError());
    return 12;
  }
  f = fopen(argv[2], "wb");
  if (!f || fwrite(g_out, 1, OUT_BYTES, f) != OUT_BYTES) return 13;
  fclose(f);
  return 0;
}
