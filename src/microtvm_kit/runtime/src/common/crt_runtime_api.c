/*
 * Core of the C runtime API: last-error text, module slots and handle encoding, the global
 * registry, TVMFuncCall dispatch and runtime initialisation with the built-in globals.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/func_registry.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/internal/config.h>
#include <tvm/runtime/crt/module.h>
#include <tvm/runtime/crt/platform.h>

/* ---- last error -------------------------------------------------------------------------- */

/* 1024 bytes as in TVM's CRT; messages are truncated, never overflow. */
#define TVM_CRT_LAST_ERROR_BYTES 1024
static char g_last_error[TVM_CRT_LAST_ERROR_BYTES];

void TVMStrCopy(char* dst, size_t dst_size, const char* src) {
  size_t n;
  if (dst_size == 0) return;
  n = src ? strlen(src) : 0;
  if (n >= dst_size) n = dst_size - 1;
  if (n) memcpy(dst, src, n);
  dst[n] = '\0';
}

void TVMAPISetLastError(const char* msg) { TVMStrCopy(g_last_error, sizeof(g_last_error), msg); }

const char* TVMGetLastError(void) { return g_last_error; }

int TVMAPIErrorf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(g_last_error, sizeof(g_last_error), fmt, args);
  va_end(args);
  return -1;
}

/* ---- modules ----------------------------------------------------------------------------- */

typedef struct {
  const TVMModule* module;
  void (*on_free)(const TVMModule* mod);
} ModuleSlot;

static ModuleSlot g_modules[TVM_CRT_MAX_REGISTERED_MODULES];
static int g_system_lib_slot = -1;

int TVMModCreateFromCModuleEx(const TVMModule* mod, void (*on_free)(const TVMModule* mod),
                              TVMModuleHandle* out_handle) {
  int k;
  for (k = 0; k < TVM_CRT_MAX_REGISTERED_MODULES; k++) {
    if (g_modules[k].module == NULL) {
      g_modules[k].module = mod;
      g_modules[k].on_free = on_free;
      *out_handle = (TVMModuleHandle)TVM_CRT_MODULE_HANDLE(k);
      return 0;
    }
  }
  return TVMAPIErrorf("no free module slot (TVM_CRT_MAX_REGISTERED_MODULES = %d)",
                      TVM_CRT_MAX_REGISTERED_MODULES);
}

int TVMModCreateFromCModule(const TVMModule* mod, TVMModuleHandle* out_handle) {
  return TVMModCreateFromCModuleEx(mod, NULL, out_handle);
}

/* Slot index of a module handle, or -1 when the handle is not a registered module. */
static int ModuleSlotFromHandle(TVMModuleHandle handle) {
  uintptr_t h = (uintptr_t)handle;
  uintptr_t slot;
  if ((h & ~(uintptr_t)0x7fff) != 0x8000) return -1;
  slot = h & 0x7fff;
  if (slot >= TVM_CRT_MAX_REGISTERED_MODULES) return -1; /* strictly inside the table */
  if (g_modules[slot].module == NULL) return -1;
  return (int)slot;
}

const TVMModule* TVMModuleFromHandle(TVMModuleHandle handle) {
  int slot = ModuleSlotFromHandle(handle);
  if (slot < 0) {
    TVMAPIErrorf("invalid module handle 0x%lx", (unsigned long)(uintptr_t)handle);
    return NULL;
  }
  return g_modules[slot].module;
}

int TVMModFree(TVMModuleHandle mod) {
  int slot = ModuleSlotFromHandle(mod);
  ModuleSlot s;
  if (slot < 0) {
    return TVMAPIErrorf("invalid module handle 0x%lx", (unsigned long)(uintptr_t)mod);
  }
  if (slot == g_system_lib_slot) return 0; /* the system library lives forever */
  s = g_modules[slot];
  g_modules[slot].module = NULL;
  g_modules[slot].on_free = NULL;
  if (s.on_free) s.on_free(s.module);
  return 0;
}

int TVMModGetFunction(TVMModuleHandle mod, const char* func_name, int query_imports,
                      TVMFunctionHandle* out) {
  int slot = ModuleSlotFromHandle(mod);
  tvm_function_index_t idx;
  (void)query_imports;
  if (slot < 0) {
    return TVMAPIErrorf("invalid module handle 0x%lx", (unsigned long)(uintptr_t)mod);
  }
  if (TVMFuncRegistry_Lookup(g_modules[slot].module->registry, func_name, &idx) != 0) {
    *out = NULL;
    return TVMAPIErrorf("function not found in module: %s", func_name);
  }
  *out = (TVMFunctionHandle)TVM_CRT_FUNC_HANDLE(slot, idx);
  return 0;
}

/* ---- system library ---------------------------------------------------------------------- */

/* Weak reference: a firmware without a generated system library still links, and
 * runtime.SystemLib then reports that none is present instead of failing the link. */
#if defined(__GNUC__) && !defined(_WIN32) && !defined(__APPLE__)
extern const TVMModule* TVMSystemLibEntryPoint(void) __attribute__((weak));
#define TVM_CRT_HAVE_SYSTEM_LIB() (TVMSystemLibEntryPoint != NULL)
#else
#define TVM_CRT_HAVE_SYSTEM_LIB() 1
#endif

static int SystemLibHandle(TVMModuleHandle* out) {
  int err;
  if (g_system_lib_slot >= 0) {
    *out = (TVMModuleHandle)TVM_CRT_MODULE_HANDLE(g_system_lib_slot);
    return 0;
  }
  if (!TVM_CRT_HAVE_SYSTEM_LIB()) {
    return TVMAPIErrorf("no system library linked (TVMSystemLibEntryPoint is not defined)");
  }
  err = TVMModCreateFromCModule(TVMSystemLibEntryPoint(), out);
  if (err != 0) return err;
  g_system_lib_slot = (int)((uintptr_t)*out & 0x7fff);
  return 0;
}

/* ---- global registry --------------------------------------------------------------------- */

/* Storage of the global registry; a union keeps the pointer table aligned. */
static union {
  uint8_t bytes[TVM_CRT_GLOBAL_FUNC_REGISTRY_SIZE_BYTES];
  void* align;
} g_global_buffer;
static TVMMutableFuncRegistry g_global_registry;
static int g_runtime_initialized;

tvm_crt_error_t TVMFuncRegisterGlobal(const char* name, TVMBackendPackedCFunc func,
                                      int override) {
  tvm_crt_error_t err;
  if (!g_runtime_initialized) {
    err = TVMInitializeRuntime();
    if (err != kTvmErrorNoError) return err;
  }
  err = TVMMutableFuncRegistry_Set(&g_global_registry, name, func, override);
  if (err != kTvmErrorNoError) {
    TVMAPIErrorf("cannot register global %s: error 0x%x", name, (unsigned)err);
  }
  return err;
}

int TVMFuncGetGlobal(const char* name, TVMFunctionHandle* out) {
  tvm_function_index_t idx;
  if (!g_runtime_initialized || TVMFuncRegistry_Lookup(&g_global_registry.registry, name, &idx)) {
    *out = NULL; /* unknown globals succeed with a NULL handle */
    return 0;
  }
  *out = (TVMFunctionHandle)TVM_CRT_FUNC_HANDLE(TVM_CRT_MAX_REGISTERED_MODULES, idx);
  return 0;
}

int TVMFuncFree(TVMFunctionHandle func) {
  (void)func; /* function handles own nothing */
  return 0;
}

int TVMFuncCall(TVMFunctionHandle func, TVMValue* arg_values, int* type_codes, int num_args,
                TVMValue* ret_val, int* ret_type_code) {
  uintptr_t h = (uintptr_t)func;
  uint32_t slot_part = (uint32_t)((h >> 16) & 0xffff);
  uint32_t idx_part = (uint32_t)(h & 0xffff);
  uint32_t slot = slot_part & 0x7fff;
  const TVMFuncRegistry* reg;
  TVMBackendPackedCFunc fn;
  TVMValue dummy_val;
  int dummy_code;

  if (ret_val == NULL) ret_val = &dummy_val;
  if (ret_type_code == NULL) ret_type_code = &dummy_code;
  ret_val->v_handle = NULL;
  *ret_type_code = kTVMNullptr;

  if ((h >> 16 >> 16) != 0) { /* handles are 32-bit values */
    return TVMAPIErrorf("invalid function handle 0x%lx", (unsigned long)h);
  }
  if (!(slot_part & 0x8000) || !(idx_part & 0x8000)) {
    return TVMAPIErrorf("invalid function handle 0x%lx", (unsigned long)h);
  }
  if (slot == TVM_CRT_TIME_EVALUATOR_SLOT) {
    return TVMTimeEvaluatorCall((uint16_t)(idx_part & 0x7fff), arg_values, type_codes, num_args,
                                ret_val, ret_type_code);
  }
  if (slot == TVM_CRT_MAX_REGISTERED_MODULES) {
    reg = &g_global_registry.registry;
  } else if (slot < TVM_CRT_MAX_REGISTERED_MODULES && g_modules[slot].module != NULL) {
    reg = g_modules[slot].module->registry;
  } else {
    return TVMAPIErrorf("function handle 0x%lx belongs to an unregistered module",
                        (unsigned long)h);
  }
  if (TVMFuncRegistry_GetByIndex(reg, (tvm_function_index_t)(idx_part & 0x7fff), &fn) != 0) {
    return TVMAPIErrorf("invalid function index: %04x", (unsigned)(idx_part & 0x7fff));
  }
  return fn(arg_values, type_codes, num_args, ret_val, ret_type_code,
            slot == TVM_CRT_MAX_REGISTERED_MODULES ? NULL : (void*)reg);
}

/* ---- built-in globals -------------------------------------------------------------------- */

static int SystemLibFunc(TVMValue* args, int* type_codes, int num_args, TVMValue* ret_val,
                         int* ret_type_code, void* resource_handle) {
  TVMModuleHandle h = NULL;
  int err;
  (void)args;
  (void)type_codes;
  (void)num_args;
  (void)resource_handle;
  err = SystemLibHandle(&h);
  if (err != 0) return err;
  ret_val->v_handle = h;
  *ret_type_code = kTVMModuleHandle;
  return 0;
}

/* (Module, Str name, Int query_imports): a function handle, or Nullptr when not found. */
static int ModuleGetFunctionFunc(TVMValue* args, int* type_codes, int num_args,
                                 TVMValue* ret_val, int* ret_type_code, void* resource_handle) {
  TVMFunctionHandle fh;
  const TVMModule* mod;
  (void)resource_handle;
  ret_val->v_handle = NULL;
  *ret_type_code = kTVMNullptr;
  /* TVM's CRT answers Nullptr (success) for any other argument list; keep that behaviour so
   * replies match, the host turns it into "function not found". */
  if (num_args != 3 || type_codes[0] != kTVMModuleHandle || type_codes[1] != kTVMStr ||
      type_codes[2] != kTVMArgInt) {
    return 0;
  }
  mod = TVMModuleFromHandle(args[0].v_handle);
  if (mod == NULL) return -1;
  if (TVMModGetFunction(args[0].v_handle, args[1].v_str, (int)args[2].v_int64, &fh) != 0) {
    return 0; /* not found: Nullptr */
  }
  ret_val->v_handle = fh;
  *ret_type_code = kTVMPackedFuncHandle;
  return 0;
}

static int GetCRTMaxPacketSizeFunc(TVMValue* args, int* type_codes, int num_args,
                                   TVMValue* ret_val, int* ret_type_code, void* resource_handle) {
  (void)args;
  (void)type_codes;
  (void)num_args;
  (void)resource_handle;
  /* The host subtracts its copy header from this; 11 = session header 3 + packet length 8. */
  ret_val->v_int64 = TVM_CRT_MAX_PACKET_SIZE_BYTES - 11;
  *ret_type_code = kTVMArgInt;
  return 0;
}

static int RandomFillFunc(TVMValue* args, int* type_codes, int num_args, TVMValue* ret_val,
                          int* ret_type_code, void* resource_handle) {
  DLTensor* t;
  int64_t n = 1;
  int i;
  tvm_crt_error_t err;
  (void)ret_val;
  (void)ret_type_code;
  (void)resource_handle;
  if (num_args != 1) return TVMAPIErrorf("random_fill: expected 1 argument, got %d", num_args);
  if (type_codes[0] != kTVMDLTensorHandle && type_codes[0] != kTVMNDArrayHandle) {
    return TVMAPIErrorf("random_fill: argument must be a tensor (type code %d)", type_codes[0]);
  }
  t = (DLTensor*)args[0].v_handle;
  for (i = 0; i < t->ndim; i++) n *= t->shape[i];
  n = (n * t->dtype.bits + 7) / 8;
  err = TVMPlatformGenerateRandom((uint8_t*)t->data + t->byte_offset, (size_t)n);
  if (err != kTvmErrorNoError) {
    return TVMAPIErrorf("random_fill: TVMPlatformGenerateRandom failed: 0x%x", (unsigned)err);
  }
  return 0;
}

tvm_crt_error_t TVMInitializeRuntime(void) {
  tvm_crt_error_t err;
  if (g_runtime_initialized) return kTvmErrorNoError;
  err = TVMMutableFuncRegistry_Create(&g_global_registry, g_global_buffer.bytes,
                                      sizeof(g_global_buffer.bytes));
  if (err != kTvmErrorNoError) return err;
  g_runtime_initialized = 1;
  /* Order fixes the global handle values (0x80028000 + index) seen by the host. */
  err = TVMFuncRegisterGlobal("runtime.SystemLib", SystemLibFunc, 0);
  if (err == kTvmErrorNoError) {
    err = TVMFuncRegisterGlobal("tvm.rpc.server.ModuleGetFunction", ModuleGetFunctionFunc, 0);
  }
  if (err == kTvmErrorNoError) {
    err = TVMFuncRegisterGlobal("runtime.RPCTimeEvaluator", TVMTimeEvaluatorCreate, 0);
  }
  if (err == kTvmErrorNoError) {
    err = TVMFuncRegisterGlobal("tvm.rpc.server.GetCRTMaxPacketSize", GetCRTMaxPacketSizeFunc, 0);
  }
  if (err == kTvmErrorNoError) {
    err = TVMFuncRegisterGlobal("tvm.contrib.random.random_fill", RandomFillFunc, 0);
  }
  return err;
}
