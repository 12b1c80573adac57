/* Unit tests of the runtime's common and memory components; prints one line per failure. */
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/crt.h>
#include <tvm/runtime/crt/func_registry.h>
#include <tvm/runtime/crt/internal/common.h>
#include <tvm/runtime/crt/module.h>
#include <tvm/runtime/crt/ndarray.h>
#include <tvm/runtime/crt/page_allocator.h>
#include <tvm/runtime/crt/platform.h>
#include <tvm/runtime/crt/stack_allocator.h>

static int g_failures;
#define EXPECT(cond)                                                  \
  do {                                                                \
    if (!(cond)) {                                                    \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
      g_failures++;                                                   \
    }                                                                 \
  } while (0)

static const DLDevice kCPU = {kDLCPU, 0};

static void TestPageAllocator(void) {
  static uint8_t pool[64 * 1024] __attribute__((aligned(256)));
  MemoryManagerInterface* mm = NULL;
  void *a = NULL, *b = NULL, *c = NULL, *d = NULL, *big = NULL;
  size_t largest;
  EXPECT(PageMemoryManagerCreate(&mm, pool, sizeof(pool), 8) == kTvmErrorNoError);
  largest = PageMemoryManagerLargestFree(mm);
  EXPECT(largest > 60 * 1024 && largest < sizeof(pool));
  EXPECT(mm->Allocate(mm, 100, kCPU, &a) == 0);
  EXPECT(mm->Allocate(mm, 300, kCPU, &b) == 0);
  EXPECT(mm->Allocate(mm, 0, kCPU, &c) == 0);
  EXPECT(a == pool && b == pool + 256 && c == pool + 768);
  EXPECT(((uintptr_t)b & 255) == 0);
  EXPECT(mm->vleak_size == 3);
  /* Freed neighbours merge: a 3-page request fits where a (1 page) and b (2 pages) were. */
  EXPECT(mm->Free(mm, a, kCPU) == 0);
  EXPECT(mm->Free(mm, b, kCPU) == 0);
  EXPECT(mm->Allocate(mm, 700, kCPU, &d) == 0 && d == pool);
  /* Bad frees are refused, never corrupt the pool. */
  EXPECT(mm->Free(mm, (uint8_t*)c + 1, kCPU) != 0);
  EXPECT(mm->Free(mm, pool + sizeof(pool) + 4096, kCPU) != 0);
  EXPECT(mm->Free(mm, c, kCPU) == 0);
  EXPECT(mm->Free(mm, c, kCPU) != 0); /* double free detected */
  /* Exhaustion leaves *out untouched and reports no memory. */
  big = (void*)0x1;
  EXPECT(mm->Allocate(mm, sizeof(pool), kCPU, &big) == kTvmErrorPlatformNoMemory && big == (void*)0x1);
  EXPECT(mm->Free(mm, d, kCPU) == 0);
  EXPECT(mm->vleak_size == 0);
  EXPECT(PageMemoryManagerLargestFree(mm) == largest); /* everything merged back */
}

static void TestStackAllocator(void) {
  static uint8_t buf[1000];
  tvm_workspace_t ws;
  void *a = NULL, *b = NULL, *c = NULL;
  EXPECT(StackMemoryManager_Init(&ws, buf + 3, sizeof(buf) - 3) == 0);
  EXPECT(((uintptr_t)ws.workspace & 15) == 0);
  EXPECT(StackMemoryManager_Allocate(&ws, 10, &a) == 0);
  EXPECT(StackMemoryManager_Allocate(&ws, 17, &b) == 0);
  EXPECT((uint8_t*)b - (uint8_t*)a == 16 && ((uintptr_t)b & 15) == 0);
  EXPECT(StackMemoryManager_Allocate(&ws, 2000, &c) == kTvmErrorPlatformNoMemory);
  EXPECT(StackMemoryManager_Allocate(&ws, -1, &c) != 0);
  EXPECT(StackMemoryManager_Free(&ws, (uint8_t*)b + 64) == kTvmErrorPlatformStackAllocBadFree);
  EXPECT(StackMemoryManager_Free(&ws, a) == 0);
  EXPECT(ws.next_alloc == (uint8_t*)a);
}

static int Add(TVMValue* args, int* codes, int n, TVMValue* ret, int* ret_code, void* res) {
  (void)codes;
  (void)res;
  if (n != 2) return TVMAPIErrorf("Add: need 2 args, got %d", n);
  ret->v_int64 = args[0].v_int64 + args[1].v_int64;
  *ret_code = kTVMArgInt;
  return 0;
}

static int Fail(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                void* res) {
  TVM_CRT_UNUSED_PACKED_ARGS();
  return -1;
}

static void TestRegistries(void) {
  static const TVMBackendPackedCFunc funcs[] = {Add, Fail};
  /* Count 1 but two names: the second is neither found nor callable. */
  static const TVMFuncRegistry reg = {"\001\000add\000fail\000", funcs};
  static union {
    uint8_t b[64];
    void* align;
  } small;
  TVMMutableFuncRegistry mreg;
  tvm_function_index_t idx = 99;
  TVMBackendPackedCFunc f = NULL;
  int i;
  char name[16];
  EXPECT(TVMFuncRegistry_GetNumFuncs(&reg) == 1);
  EXPECT(TVMFuncRegistry_Lookup(&reg, "add", &idx) == 0 && idx == 0);
  EXPECT(TVMFuncRegistry_Lookup(&reg, "fail", &idx) == kTvmErrorFunctionNameNotFound);
  EXPECT(TVMFuncRegistry_GetByIndex(&reg, 1, &f) == kTvmErrorFunctionIndexInvalid);
  EXPECT(TVMMutableFuncRegistry_Create(&mreg, small.b, sizeof(small.b)) == 0);
  EXPECT(TVMMutableFuncRegistry_Set(&mreg, "a", Add, 0) == 0);
  EXPECT(TVMMutableFuncRegistry_Set(&mreg, "a", Fail, 0) == kTvmErrorFunctionAlreadyDefined);
  EXPECT(TVMMutableFuncRegistry_Set(&mreg, "a", Fail, 1) == 0);
  EXPECT(TVMFuncRegistry_GetByIndex(&mreg.registry, 0, &f) == 0 && f == Fail);
  for (i = 0; i < 20; i++) {
    snprintf(name, sizeof(name), "f%d", i);
    if (TVMMutableFuncRegistry_Set(&mreg, name, Add, 0) != 0) break;
  }
  EXPECT(i < 20); /* fills up cleanly */
  EXPECT(TVMMutableFuncRegistry_Set(&mreg, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", Add, 0) ==
         kTvmErrorFunctionRegistryFull);
  /* Earlier entries intact after the refused ones. */
  EXPECT(TVMFuncRegistry_Lookup(&mreg.registry, "f0", &idx) == 0 && idx == 1);
}

static void TestGlobalsAndCalls(void) {
  TVMFunctionHandle h = NULL;
  TVMValue args[2], ret;
  int codes[2] = {kTVMArgInt, kTVMArgInt}, ret_code = 0;
  char long_msg[3000];
  EXPECT(TVMInitializeRuntime() == 0);
  EXPECT(TVMInitializeRuntime() == 0);
  EXPECT(TVMFuncGetGlobal("runtime.SystemLib", &h) == 0 && (uintptr_t)h == 0x80028000u);
  EXPECT(TVMFuncGetGlobal("tvm.contrib.random.random_fill", &h) == 0 && (uintptr_t)h == 0x80028004u);
  EXPECT(TVMFuncRegisterGlobal("test.add", Add, 0) == 0);
  EXPECT(TVMFuncRegisterGlobal("test.add", Add, 0) == kTvmErrorFunctionAlreadyDefined);
  EXPECT(TVMFuncGetGlobal("test.add", &h) == 0 && (uintptr_t)h == 0x80028005u);
  args[0].v_int64 = 40;
  args[1].v_int64 = 2;
  EXPECT(TVMFuncCall(h, args, codes, 2, &ret, &ret_code) == 0 && ret.v_int64 == 42 &&
         ret_code == kTVMArgInt);
  EXPECT(TVMFuncCall(h, args, codes, 1, &ret, &ret_code) != 0);
  EXPECT(strstr(TVMGetLastError(), "need 2 args") != NULL);
  EXPECT(TVMFuncCall((TVMFunctionHandle)(uintptr_t)0x80028063u, args, codes, 2, &ret, &ret_code) != 0);
  EXPECT(TVMFuncCall((TVMFunctionHandle)(uintptr_t)0x80018000u, args, codes, 2, &ret, &ret_code) != 0);
  EXPECT(TVMFuncGetGlobal("nope", &h) == 0 && h == NULL);
  /* Module handle one past the slot table is rejected (TVM reads out of bounds). */
  EXPECT(TVMModFree((TVMModuleHandle)(uintptr_t)0x8002u) != 0);
  memset(long_msg, 'x', sizeof(long_msg) - 1);
  long_msg[sizeof(long_msg) - 1] = 0;
  TVMAPISetLastError(long_msg);
  EXPECT(strlen(TVMGetLastError()) == 1023);
}

static int g_tasks;
static int Lambda(int task_id, TVMParallelGroupEnv* env, void* cdata) {
  (void)cdata;
  EXPECT(task_id == 0 && env->num_task == 1);
  g_tasks++;
  return 0;
}

static void TestBackend(void) {
  void* a = TVMBackendAllocWorkspace(1, 0, 5000, 2, 32);
  void* b = TVMBackendAllocWorkspace(1, 0, 100, 2, 32);
  void* huge;
  EXPECT(a != NULL && b != NULL && a != b);
  memset(a, 1, 5000);
  EXPECT(TVMBackendFreeWorkspace(1, 0, b) == 0);
  EXPECT(TVMBackendFreeWorkspace(1, 0, a) == 0);
  huge = TVMBackendAllocWorkspace(1, 0, (uint64_t)1 << 40, 2, 32);
  EXPECT(huge == NULL && strstr(TVMGetLastError(), "cannot allocate") != NULL);
  EXPECT(TVMBackendParallelLaunch(Lambda, NULL, 8) == 0 && g_tasks == 1);
}

static void TestNDArray(void) {
  int64_t shape[2] = {3, 5};
  DLDataType f32 = {kDLFloat, 32, 1};
  TVMNDArray* arr = NULL;
  int64_t bad_shape[1] = {-1};
  EXPECT(TVMNDArray_Create(2, shape, f32, kCPU, &arr) == 0);
  EXPECT(TVMNDArray_DataSizeBytes(&arr->dl_tensor) == 60);
  EXPECT(((float*)arr->dl_tensor.data)[14] == 0.0f);
  shape[0] = 100; /* the array keeps its own copy */
  EXPECT(arr->dl_tensor.shape[0] == 3);
  TVMNDArray_IncrementReference(arr);
  EXPECT(TVMNDArray_Release(arr) == 0 && arr->reference_count == 1);
  EXPECT(TVMNDArray_Release(arr) == 0);
  EXPECT(TVMNDArray_Create(1, bad_shape, f32, kCPU, &arr) != 0);
  EXPECT(TVMNDArray_Create(99, shape, f32, kCPU, &arr) != 0);
}

static int g_calls;
static int Counted(TVMValue* args, int* codes, int num_args, TVMValue* ret, int* ret_code,
                   void* res) {
  double t = 0;
  TVM_CRT_UNUSED_PACKED_ARGS();
  g_calls++;
  /* Busy for about 200 us, without the platform timer (the evaluator owns it). */
  {
    volatile unsigned long k;
    for (k = 0; k < 200000ul; k++) t += 1e-9;
  }
  return t < 0;
}

static void TestTimeEvaluator(void) {
  static const TVMBackendPackedCFunc funcs[] = {Counted};
  static const TVMFuncRegistry reg = {"\001\000counted\000", funcs};
  static const TVMModule mod = {&reg};
  TVMModuleHandle mh = NULL;
  TVMFunctionHandle create = NULL, timer1, timer2;
  TVMValue a[12], ret;
  int c[12], ret_code = 0, i;
  const TVMByteArray* res;
  const double* times;
  EXPECT(TVMModCreateFromCModule(&mod, &mh) == 0);
  EXPECT(TVMFuncGetGlobal("runtime.RPCTimeEvaluator", &create) == 0 && create != NULL);
  a[0].v_handle = mh;
  c[0] = kTVMModuleHandle;
  a[1].v_str = "counted";
  c[1] = kTVMStr;
  for (i = 2; i < 11; i++) {
    a[i].v_int64 = 0;
    c[i] = kTVMArgInt;
  }
  a[11].v_str = "";
  c[11] = kTVMStr;
  a[2].v_int64 = 1; /* device type */
  a[4].v_int64 = 3; /* number */
  a[5].v_int64 = 2; /* repeat */
  a[7].v_int64 = 100; /* limit_zero_time_iterations */
  a[9].v_int64 = 1; /* repeats_to_cooldown */
  EXPECT(TVMFuncCall(create, a, c, 11, &ret, &ret_code) != 0); /* needs 12 */
  c[3] = kTVMStr;
  EXPECT(TVMFuncCall(create, a, c, 12, &ret, &ret_code) != 0);
  EXPECT(strstr(TVMGetLastError(), "invalid arg types") != NULL);
  c[3] = kTVMArgInt;
  EXPECT(TVMFuncCall(create, a, c, 12, &ret, &ret_code) == 0 && ret_code == kTVMPackedFuncHandle);
  timer1 = ret.v_handle;
  EXPECT(((uintptr_t)timer1 & 0xffff8000u) == 0xffff8000u);
  g_calls = 0;
  EXPECT(TVMFuncCall(timer1, NULL, NULL, 0, &ret, &ret_code) == 0 && ret_code == kTVMBytes);
  EXPECT(g_calls == 1 + 3 * 2); /* warm-up + number * repeat */
  res = (const TVMByteArray*)ret.v_handle;
  times = (const double*)res->data;
  EXPECT(res->size == 2 * sizeof(double) && times[0] > 0 && times[1] > 0);
  TVMByteArrayFree((TVMByteArray*)res);
  /* min_repeat_ms = 5 with ~0.2 ms calls: `number` grows until a batch takes 5 ms. */
  a[6].v_int64 = 5;
  a[5].v_int64 = 1;
  EXPECT(TVMFuncCall(create, a, c, 12, &ret, &ret_code) == 0);
  timer2 = ret.v_handle;
  EXPECT(timer2 != timer1);
  EXPECT(TVMFuncCall(timer1, NULL, NULL, 0, &ret, &ret_code) != 0); /* only the latest works */
  g_calls = 0;
  EXPECT(TVMFuncCall(timer2, NULL, NULL, 0, &ret, &ret_code) == 0);
  res = (const TVMByteArray*)ret.v_handle;
  times = (const double*)res->data;
  /* The last batch reached min_repeat_ms; it had at most g_calls - 1 calls (timing on a busy
   * machine decides how many batches it took, so only this bound is stable). */
  EXPECT(g_calls >= 1 + 3);
  EXPECT(times[0] > 0 && times[0] * (g_calls - 1) >= 0.005 * 0.999);
  TVMByteArrayFree((TVMByteArray*)res);
  EXPECT(TVMModFree(mh) == 0);
}

static void TestTimer(void) {
  double t = -1;
  EXPECT(TVMPlatformTimerStart() == 0);
  EXPECT(TVMPlatformTimerStart() == kTvmErrorPlatformTimerBadState);
  EXPECT(TVMPlatformTimerStop(&t) == 0 && t >= 0 && t < 1);
  EXPECT(TVMPlatformTimerStop(&t) == kTvmErrorPlatformTimerBadState);
}

int main(void) {
  TestPageAllocator();
  TestStackAllocator();
  TestRegistries();
  TestGlobalsAndCalls();
  TestBackend();
  TestNDArray();
  TestTimer();
  TestTimeEvaluator();
  printf("%s (%d failures)\n", g_failures ? "FAILED" : "OK", g_failures);
  return g_failures ? 1 : 0;
}
