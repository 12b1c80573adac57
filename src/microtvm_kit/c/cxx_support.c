/* The C++ ABI hooks a C++ runtime's objects may reference, for bare-metal firmware linked
 * without a C++ library (firmware.cmake adds this file only then). The runtime never calls a pure
 * virtual function nor deletes an object, so each hook is a fault. Weak: a real C++ library
 * linked in wins. */
#include <stddef.h>

#include <tvm/runtime/crt/platform.h>

__attribute__((weak)) void __cxa_pure_virtual(void) {
  TVMPlatformAbort(kTvmErrorPlatformCheckFailure);
}

/* operator delete(void*) and operator delete(void*, size_t), named by deleting destructors. */
__attribute__((weak)) void _ZdlPv(void* pointer) {
  (void)pointer;
  TVMPlatformAbort(kTvmErrorPlatformCheckFailure);
}

#if __SIZEOF_SIZE_T__ == __SIZEOF_INT__
#define PROJECTAPI_SIZED_DELETE _ZdlPvj
#else
#define PROJECTAPI_SIZED_DELETE _ZdlPvm
#endif
__attribute__((weak)) void PROJECTAPI_SIZED_DELETE(void* pointer, size_t size) {
  (void)pointer;
  (void)size;
  TVMPlatformAbort(kTvmErrorPlatformCheckFailure);
}
