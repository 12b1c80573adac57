/*
 * MinRPC-compatible request handling (docs/micro.md): decode one RPC packet from the receive buffer
 * with bounds checks, execute it, encode the reply. Every malformed or unsupported request is
 * answered with an Exception naming the problem (TVM's device hangs instead), and the message is
 * always produced by this request, never left over from an earlier failure.
 */
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/internal/config.h>
#include <tvm/runtime/crt/internal/rpc_server.h>
#include <tvm/runtime/crt/ndarray.h>

/* RPC codes (docs/micro.md). */
enum {
  kRPCShutdown = 1,
  kRPCInitServer = 2,
  kRPCCallFunc = 3,
  kRPCReturn = 4,
  kRPCException = 5,
  kRPCCopyFromRemote = 6,
  kRPCCopyToRemote = 7,
  kRPCCopyAck = 8,
  kRPCGetGlobalFunc = 9,
  kRPCFreeHandle = 10,
  kRPCDevSetDevice = 11,
  kRPCDevGetAttr = 12,
  kRPCDevAllocData = 13,
  kRPCDevFreeData = 14,
  kRPCDevStreamSync = 15,
  kRPCCopyAmongRemote = 16,
  kRPCDevAllocDataWithScope = 17,
  kRPCDevCreateStream = 18,
  kRPCDevFreeStream = 19,
  kRPCDevSetStream = 20,
};

/* Bytes before the RPC code in a reply message: session header + packet_nbytes. */
#define TVM_RPC_REPLY_OVERHEAD (TVM_SESSION_HEADER_BYTES + 8)
/* Reply heads (everything but a trailing data segment) are built on the stack. */
#define TVM_RPC_HEAD_BYTES 320
/* Rank limit of decoded tensors (keeps NDArray reply heads within TVM_RPC_HEAD_BYTES). */
#define TVM_RPC_MAX_NDIM 32
#define TVM_RPC_ERROR_BYTES 160

/* ---- reading ---- */

typedef struct {
  const uint8_t* p;
  size_t n;
  size_t pos;
  int failed;
} Reader;

static int Read(Reader* r, void* out, size_t k) {
  if (r->failed || k > r->n - r->pos) {
    r->failed = 1;
    memset(out, 0, k);
    return -1;
  }
  memcpy(out, r->p + r->pos, k); /* wire and device are little-endian (framing spec 2) */
  r->pos += k;
  return 0;
}

static int32_t ReadI32(Reader* r) {
  int32_t v;
  Read(r, &v, 4);
  return v;
}

static uint64_t ReadU64(Reader* r) {
  uint64_t v;
  Read(r, &v, 8);
  return v;
}

static void* ArenaAlloc(TVMRpcServer* s, size_t n) {
  size_t start = (s->arena_used + 7u) & ~(size_t)7u;
  if (start > s->arena_size || n > s->arena_size - start) return NULL;
  s->arena_used = start + n;
  return s->arena + start;
}

/* Error text of the current request. */
typedef struct {
  char text[TVM_RPC_ERROR_BYTES];
} RpcError;

#define FAIL(err, ...)                                       \
  do {                                                       \
    snprintf((err)->text, sizeof((err)->text), __VA_ARGS__); \
    return -1;                                               \
  } while (0)

static int PointerFromU64(uint64_t v, void** out, RpcError* err) {
  if ((uint64_t)(uintptr_t)v != v) FAIL(err, "handle 0x%llx does not fit a device pointer",
                                        (unsigned long long)v);
  *out = (void*)(uintptr_t)v;
  return 0;
}

static int ReadTensor(TVMRpcServer* s, Reader* r, DLTensor** out, RpcError* err) {
  DLTensor* t = (DLTensor*)ArenaAlloc(s, sizeof(DLTensor));
  uint64_t data;
  int32_t i;
  if (t == NULL) FAIL(err, "request too complex to decode");
  data = ReadU64(r);
  t->device.device_type = (DLDeviceType)ReadI32(r);
  t->device.device_id = ReadI32(r);
  t->ndim = ReadI32(r);
  Read(r, &t->dtype, 4);
  if (r->failed) FAIL(err, "truncated tensor in request");
  if (t->ndim < 0 || t->ndim > TVM_RPC_MAX_NDIM) FAIL(err, "tensor rank %d out of range", (int)t->ndim);
  if (PointerFromU64(data, &t->data, err)) return -1;
  t->shape = NULL;
  if (t->ndim > 0) {
    t->shape = (int64_t*)ArenaAlloc(s, sizeof(int64_t) * (size_t)t->ndim);
    if (t->shape == NULL) FAIL(err, "request too complex to decode");
    for (i = 0; i < t->ndim; i++) t->shape[i] = (int64_t)ReadU64(r);
  }
  t->strides = NULL;
  t->byte_offset = ReadU64(r);
  if (r->failed) FAIL(err, "truncated tensor in request");
  *out = t;
  return 0;
}

/* Decodes a packed sequence (docs/micro.md). */
static int ReadSequence(TVMRpcServer* s, Reader* r, TVMValue** values, int** codes, int* num,
                        RpcError* err) {
  int32_t n = ReadI32(r);
  int32_t i;
  if (r->failed) FAIL(err, "truncated argument list");
  /* Every argument needs at least its 4-byte type code. */
  if (n < 0 || (size_t)n > (r->n - r->pos) / 4) FAIL(err, "invalid argument count %d", (int)n);
  *values = (TVMValue*)ArenaAlloc(s, sizeof(TVMValue) * (size_t)(n > 0 ? n : 1));
  *codes = (int*)ArenaAlloc(s, sizeof(int) * (size_t)(n > 0 ? n : 1));
  if (*values == NULL || *codes == NULL) FAIL(err, "request too complex to decode");
  for (i = 0; i < n; i++) (*codes)[i] = ReadI32(r);
  for (i = 0; i < n; i++) {
    TVMValue* v = &(*values)[i];
    uint64_t u;
    v->v_int64 = 0;
    switch ((*codes)[i]) {
      case kTVMArgInt:
      case kDLUInt:
      case kTVMArgFloat:
        Read(r, v, 8);
        break;
      case kTVMOpaqueHandle:
      case kTVMModuleHandle:
      case kTVMPackedFuncHandle:
        u = ReadU64(r);
        if (!r->failed && PointerFromU64(u, &v->v_handle, err)) return -1;
        break;
      case kTVMNullptr:
        v->v_handle = NULL;
        break;
      case kTVMDataType:
        Read(r, &v->v_type, 4);
        (void)ReadI32(r); /* padding */
        break;
      case kDLDevice:
        v->v_device.device_type = (DLDeviceType)ReadI32(r);
        v->v_device.device_id = ReadI32(r);
        break;
      case kTVMDLTensorHandle: {
        DLTensor* t;
        if (ReadTensor(s, r, &t, err)) return -1;
        v->v_handle = t;
        break;
      }
      case kTVMStr:
      case kTVMBytes: {
        uint64_t len = ReadU64(r);
        if (r->failed || len > r->n - r->pos) FAIL(err, "truncated string argument %d", (int)i);
        if ((*codes)[i] == kTVMStr) {
          char* str = (char*)ArenaAlloc(s, (size_t)len + 1);
          if (str == NULL) FAIL(err, "request too complex to decode");
          memcpy(str, r->p + r->pos, (size_t)len);
          str[len] = '\0';
          v->v_str = str;
        } else {
          TVMByteArray* arr = (TVMByteArray*)ArenaAlloc(s, sizeof(TVMByteArray));
          if (arr == NULL) FAIL(err, "request too complex to decode");
          arr->data = (const char*)(r->p + r->pos); /* valid until the next request */
          arr->size = (size_t)len;
          v->v_handle = arr;
        }
        r->pos += (size_t)len;
        break;
      }
      default:
        FAIL(err, "unsupported argument type code %d", (*codes)[i]);
    }
    if (r->failed) FAIL(err, "truncated argument %d", (int)i);
  }
  *num = n;
  return 0;
}

/* ---- replies ---- */

typedef struct {
  uint8_t bytes[TVM_RPC_HEAD_BYTES];
  size_t len;
} Head;

static void Put(Head* h, const void* data, size_t n) {
  if (h->len + n <= sizeof(h->bytes)) memcpy(h->bytes + h->len, data, n);
  h->len += n;
}

static void PutI32(Head* h, int32_t v) { Put(h, &v, 4); }
static void PutU64(Head* h, uint64_t v) { Put(h, &v, 8); }

/* Sends packet_nbytes + head + data as one Normal message, or an Exception if it is too big. */
static tvm_crt_error_t SendReply(TVMRpcServer* s, const Head* head, const void* data,
                                 size_t data_len) {
  TVMSessionSegment segs[3];
  uint64_t packet_nbytes = head->len + data_len;
  if (head->len > sizeof(head->bytes) ||
      data_len > TVM_CRT_MAX_PACKET_SIZE_BYTES ||
      TVM_RPC_REPLY_OVERHEAD + packet_nbytes > TVM_CRT_MAX_PACKET_SIZE_BYTES) {
    char msg[128];
    snprintf(msg, sizeof(msg),
             "reply of %lu bytes exceeds the device's packet size %d; request less at once",
             (unsigned long)(TVM_RPC_REPLY_OVERHEAD + packet_nbytes),
             TVM_CRT_MAX_PACKET_SIZE_BYTES);
    return TVMRpcServer_SendException(s, msg);
  }
  segs[0].data = &packet_nbytes;
  segs[0].len = 8;
  segs[1].data = head->bytes;
  segs[1].len = head->len;
  segs[2].data = data;
  segs[2].len = data_len;
  return TVMSession_SendMessage(&s->session, kTVMSessionNormal, s->session.session_id, segs,
                                data_len ? 3 : 2);
}

tvm_crt_error_t TVMRpcServer_SendException(TVMRpcServer* s, const char* message) {
  Head h;
  TVMSessionSegment segs[3];
  uint64_t packet_nbytes;
  size_t len = strlen(message);
  size_t room = TVM_CRT_MAX_PACKET_SIZE_BYTES - TVM_RPC_REPLY_OVERHEAD - 20;
  if (len > room) len = room;
  h.len = 0;
  PutI32(&h, kRPCException);
  PutI32(&h, 1);
  PutI32(&h, kTVMStr);
  PutU64(&h, len);
  packet_nbytes = h.len + len;
  segs[0].data = &packet_nbytes;
  segs[0].len = 8;
  segs[1].data = h.bytes;
  segs[1].len = h.len;
  segs[2].data = message;
  segs[2].len = len;
  return TVMSession_SendMessage(&s->session, kTVMSessionNormal, s->session.session_id, segs, 3);
}

static tvm_crt_error_t ReturnVoid(TVMRpcServer* s) {
  Head h;
  h.len = 0;
  PutI32(&h, kRPCReturn);
  PutI32(&h, 1);
  PutI32(&h, kTVMNullptr);
  return SendReply(s, &h, NULL, 0);
}

static tvm_crt_error_t ReturnHandle(TVMRpcServer* s, void* handle) {
  Head h;
  h.len = 0;
  PutI32(&h, kRPCReturn);
  PutI32(&h, 1);
  PutI32(&h, kTVMOpaqueHandle);
  PutU64(&h, (uint64_t)(uintptr_t)handle);
  return SendReply(s, &h, NULL, 0);
}

static void PutTensor(Head* h, const DLTensor* t) {
  int32_t i;
  PutU64(h, (uint64_t)(uintptr_t)t->data);
  PutI32(h, (int32_t)t->device.device_type);
  PutI32(h, t->device.device_id);
  PutI32(h, t->ndim);
  Put(h, &t->dtype, 4);
  for (i = 0; i < t->ndim; i++) PutU64(h, (uint64_t)t->shape[i]);
  PutU64(h, t->byte_offset);
}

/* Encodes a CallFunc result (docs/micro.md). */
static tvm_crt_error_t ReturnValue(TVMRpcServer* s, TVMValue v, int code) {
  Head h;
  tvm_crt_error_t err;
  h.len = 0;
  PutI32(&h, kRPCReturn);
  switch (code) {
    case kTVMNullptr:
      PutI32(&h, 2);
      PutI32(&h, kTVMArgInt);
      PutI32(&h, kTVMNullptr);
      PutU64(&h, kTVMNullptr);
      return SendReply(s, &h, NULL, 0);
    case kTVMArgInt:
    case kDLUInt:
    case kTVMArgFloat:
    case kTVMOpaqueHandle:
    case kTVMDataType:
    case kDLDevice:
      PutI32(&h, 2);
      PutI32(&h, kTVMArgInt);
      PutI32(&h, code);
      PutU64(&h, (uint64_t)code);
      if (code == kTVMOpaqueHandle) {
        PutU64(&h, (uint64_t)(uintptr_t)v.v_handle);
      } else if (code == kTVMDataType) {
        Put(&h, &v.v_type, 4);
        PutI32(&h, 0);
      } else if (code == kDLDevice) {
        PutI32(&h, (int32_t)v.v_device.device_type);
        PutI32(&h, v.v_device.device_id);
      } else {
        Put(&h, &v, 8);
      }
      return SendReply(s, &h, NULL, 0);
    case kTVMModuleHandle:
    case kTVMPackedFuncHandle:
      PutI32(&h, 2);
      PutI32(&h, kTVMArgInt);
      PutI32(&h, kTVMOpaqueHandle);
      PutU64(&h, (uint64_t)code);
      PutU64(&h, (uint64_t)(uintptr_t)v.v_handle);
      return SendReply(s, &h, NULL, 0);
    case kTVMStr: {
      size_t len = v.v_str ? strlen(v.v_str) : 0;
      PutI32(&h, 2);
      PutI32(&h, kTVMArgInt);
      PutI32(&h, kTVMStr);
      PutU64(&h, kTVMStr);
      PutU64(&h, len);
      return SendReply(s, &h, v.v_str, len);
    }
    case kTVMBytes: {
      TVMByteArray* arr = (TVMByteArray*)v.v_handle;
      PutI32(&h, 2);
      PutI32(&h, kTVMArgInt);
      PutI32(&h, kTVMBytes);
      PutU64(&h, kTVMBytes);
      PutU64(&h, arr ? arr->size : 0);
      err = SendReply(s, &h, arr ? arr->data : NULL, arr ? arr->size : 0);
      if (arr) TVMByteArrayFree(arr); /* Bytes results are owned by the server once returned */
      return err;
    }
    case kTVMNDArrayHandle: {
      const DLTensor* t = (const DLTensor*)v.v_handle;
      if (t == NULL || t->ndim < 0 || t->ndim > TVM_RPC_MAX_NDIM) {
        return TVMRpcServer_SendException(s, "function returned an invalid array");
      }
      PutI32(&h, 3);
      PutI32(&h, kTVMArgInt);
      PutI32(&h, kTVMDLTensorHandle);
      PutI32(&h, kTVMOpaqueHandle);
      PutU64(&h, kTVMNDArrayHandle);
      PutTensor(&h, t);
      PutU64(&h, (uint64_t)(uintptr_t)v.v_handle);
      return SendReply(s, &h, NULL, 0);
    }
    default: {
      char msg[96];
      snprintf(msg, sizeof(msg), "function returned type code %d, which cannot be sent", code);
      return TVMRpcServer_SendException(s, msg);
    }
  }
}

/* ---- request handlers ---- */

/* Message for a failed runtime call: the runtime's own text, else a generic one. */
static tvm_crt_error_t SendCallError(TVMRpcServer* s, const char* what, int rc) {
  const char* last = TVMGetLastError();
  char msg[TVM_RPC_ERROR_BYTES];
  if (last != NULL && last[0] != '\0') return TVMRpcServer_SendException(s, last);
  snprintf(msg, sizeof(msg), "%s failed with code %d", what, rc);
  return TVMRpcServer_SendException(s, msg);
}

static int CheckCodes(const int* codes, int num, const int* expected, int num_expected,
                      const char* name, RpcError* err) {
  int i;
  if (num != num_expected) FAIL(err, "%s: expected %d arguments, got %d", name, num_expected, num);
  for (i = 0; i < num; i++) {
    if (expected[i] >= 0 && codes[i] != expected[i]) {
      FAIL(err, "%s: argument %d has type code %d, expected %d", name, i, codes[i], expected[i]);
    }
  }
  return 0;
}

static int TensorBytes(const DLTensor* t, uint64_t* out, RpcError* err) {
  int64_t size = TVMNDArray_DataSizeBytes(t);
  int32_t i;
  for (i = 0; i < t->ndim; i++) {
    if (t->shape[i] < 0) FAIL(err, "negative tensor dimension");
  }
  if (size < 0) FAIL(err, "invalid tensor size");
  *out = (uint64_t)size;
  return 0;
}

/* A copy must stay inside the tensor the host described (its shape and dtype). */
static int CheckCopyRange(const DLTensor* t, uint64_t nbytes, RpcError* err) {
  uint64_t size;
  if (t->device.device_type != kDLCPU) FAIL(err, "copy: device type %d is not a CPU",
                                             (int)t->device.device_type);
  if (t->data == NULL) FAIL(err, "copy: NULL data pointer");
  if (TensorBytes(t, &size, err)) return -1;
  if (t->byte_offset > size || nbytes > size - t->byte_offset) {
    FAIL(err, "copy of %llu bytes at offset %llu is outside the %llu-byte tensor",
         (unsigned long long)nbytes, (unsigned long long)t->byte_offset,
         (unsigned long long)size);
  }
  return 0;
}

static tvm_crt_error_t HandleSyscall(TVMRpcServer* s, int32_t code, Reader* r) {
  RpcError err;
  TVMValue* v = NULL;
  int* c = NULL;
  int n = 0;
  int rc;
  err.text[0] = '\0';
  if (code == kRPCDevSetDevice) return TVMRpcServer_SendException(s, "SetDevice not supported");
  if (code == kRPCDevGetAttr) return TVMRpcServer_SendException(s, "GetAttr not supported");
  if (code > kRPCDevSetStream) {
    char msg[64];
    snprintf(msg, sizeof(msg), "Syscall not recognized: %d", (int)code);
    return TVMRpcServer_SendException(s, msg);
  }
  if (ReadSequence(s, r, &v, &c, &n, &err)) return TVMRpcServer_SendException(s, err.text);
  switch (code) {
    case kRPCGetGlobalFunc: {
      static const int kCodes[] = {kTVMStr};
      TVMFunctionHandle f = NULL;
      if (CheckCodes(c, n, kCodes, 1, "GetGlobalFunc", &err)) break;
      TVMFuncGetGlobal(v[0].v_str, &f);
      return ReturnHandle(s, f); /* 0 when unknown, as TVM */
    }
    case kRPCFreeHandle: {
      static const int kCodes[] = {kTVMOpaqueHandle, kTVMArgInt};
      if (CheckCodes(c, n, kCodes, 2, "FreeHandle", &err)) break;
      TVMAPISetLastError("");
      switch (v[1].v_int64) {
        case kTVMNDArrayHandle:
          if (v[0].v_handle == NULL) return TVMRpcServer_SendException(s, "FreeHandle: NULL array");
          rc = TVMArrayFree((TVMArrayHandle)v[0].v_handle);
          break;
        case kTVMPackedFuncHandle:
          rc = TVMFuncFree(v[0].v_handle);
          break;
        case kTVMModuleHandle:
          rc = TVMModFree(v[0].v_handle);
          break;
        default:
          snprintf(err.text, sizeof(err.text), "FreeHandle: cannot free type code %d",
                   (int)v[1].v_int64);
          return TVMRpcServer_SendException(s, err.text);
      }
      if (rc != 0) return SendCallError(s, "FreeHandle", rc);
      return ReturnVoid(s);
    }
    case kRPCDevAllocData: {
      static const int kCodes[] = {kDLDevice, kTVMArgInt, kTVMArgInt, kTVMDataType};
      void* ptr = NULL;
      if (CheckCodes(c, n, kCodes, 4, "DevAllocData", &err)) break;
      if (v[1].v_int64 < 0 || v[2].v_int64 < 0) {
        snprintf(err.text, sizeof(err.text), "DevAllocData: negative size or alignment");
        break;
      }
      TVMAPISetLastError("");
      rc = TVMDeviceAllocDataSpace(v[0].v_device, (size_t)v[1].v_int64, (size_t)v[2].v_int64,
                                   v[3].v_type, &ptr);
      if (rc != 0) return SendCallError(s, "DevAllocData", rc);
      return ReturnHandle(s, ptr);
    }
    case kRPCDevFreeData: {
      static const int kCodes[] = {kDLDevice, kTVMOpaqueHandle};
      if (CheckCodes(c, n, kCodes, 2, "DevFreeData", &err)) break;
      TVMAPISetLastError("");
      rc = TVMDeviceFreeDataSpace(v[0].v_device, v[1].v_handle);
      if (rc != 0) return SendCallError(s, "DevFreeData", rc);
      return ReturnVoid(s);
    }
    case kRPCDevStreamSync:
    case kRPCDevFreeStream:
    case kRPCDevSetStream: {
      static const int kCodes[] = {kDLDevice, kTVMOpaqueHandle};
      if (CheckCodes(c, n, kCodes, 2, "stream call", &err)) break;
      return ReturnVoid(s); /* the CPU has one synchronous stream */
    }
    case kRPCDevCreateStream: {
      static const int kCodes[] = {kDLDevice};
      if (CheckCodes(c, n, kCodes, 1, "DevCreateStream", &err)) break;
      return ReturnHandle(s, NULL);
    }
    case kRPCCopyAmongRemote: {
      static const int kCodes[] = {kTVMDLTensorHandle, kTVMDLTensorHandle, kTVMOpaqueHandle};
      DLTensor* from;
      DLTensor* to;
      uint64_t nbytes;
      if (CheckCodes(c, n, kCodes, 3, "CopyAmongRemote", &err)) break;
      from = (DLTensor*)v[0].v_handle;
      to = (DLTensor*)v[1].v_handle;
      if (TensorBytes(from, &nbytes, &err)) break;
      if (CheckCopyRange(to, nbytes, &err)) break;
      /* Source range check against its own shape from offset 0 */
      {
        DLTensor from0 = *from;
        from0.byte_offset = 0;
        if (CheckCopyRange(&from0, nbytes, &err)) break;
      }
      memmove((uint8_t*)to->data + to->byte_offset, (uint8_t*)from->data + from->byte_offset,
              (size_t)nbytes);
      return ReturnVoid(s);
    }
    case kRPCDevAllocDataWithScope: {
      DLTensor* t;
      void* ptr = NULL;
      if (n != 2 || c[0] != kTVMDLTensorHandle || (c[1] != kTVMNullptr && c[1] != kTVMStr)) {
        snprintf(err.text, sizeof(err.text),
                 "DevAllocDataWithScope: expected (tensor, scope string or None)");
        break;
      }
      t = (DLTensor*)v[0].v_handle;
      TVMAPISetLastError("");
      rc = TVMDeviceAllocDataSpaceWithScope(t->device, t->ndim, t->shape, t->dtype,
                                            c[1] == kTVMStr ? v[1].v_str : NULL, &ptr);
      if (rc != 0) return SendCallError(s, "DevAllocDataWithScope", rc);
      return ReturnHandle(s, ptr);
    }
    default:
      snprintf(err.text, sizeof(err.text), "Syscall not recognized: %d", (int)code);
      break;
  }
  return TVMRpcServer_SendException(s, err.text);
}

static tvm_crt_error_t HandleCallFunc(TVMRpcServer* s, Reader* r) {
  RpcError err;
  TVMValue* v = NULL;
  int* c = NULL;
  int n = 0;
  int rc;
  uint64_t handle = ReadU64(r);
  void* fh = NULL;
  TVMValue ret;
  int ret_code = kTVMNullptr;
  err.text[0] = '\0';
  if (r->failed) return TVMRpcServer_SendException(s, "CallFunc: truncated request");
  if (PointerFromU64(handle, &fh, &err)) return TVMRpcServer_SendException(s, err.text);
  if (ReadSequence(s, r, &v, &c, &n, &err)) return TVMRpcServer_SendException(s, err.text);
  ret.v_int64 = 0;
  TVMAPISetLastError(""); /* never report an earlier failure's text */
  rc = TVMFuncCall((TVMFunctionHandle)fh, v, c, n, &ret, &ret_code);
  if (rc != 0) return SendCallError(s, "function call", rc);
  return ReturnValue(s, ret, ret_code);
}

static tvm_crt_error_t HandleCopyFromRemote(TVMRpcServer* s, Reader* r) {
  RpcError err;
  DLTensor* t;
  uint64_t nbytes;
  Head h;
  err.text[0] = '\0';
  if (ReadTensor(s, r, &t, &err)) return TVMRpcServer_SendException(s, err.text);
  nbytes = ReadU64(r);
  if (r->failed) return TVMRpcServer_SendException(s, "CopyFromRemote: truncated request");
  if (CheckCopyRange(t, nbytes, &err)) return TVMRpcServer_SendException(s, err.text);
  h.len = 0;
  PutI32(&h, kRPCCopyAck);
  return SendReply(s, &h, (const uint8_t*)t->data + t->byte_offset, (size_t)nbytes);
}

static tvm_crt_error_t HandleCopyToRemote(TVMRpcServer* s, Reader* r) {
  RpcError err;
  DLTensor* t;
  uint64_t nbytes;
  err.text[0] = '\0';
  if (ReadTensor(s, r, &t, &err)) return TVMRpcServer_SendException(s, err.text);
  nbytes = ReadU64(r);
  if (r->failed || nbytes > r->n - r->pos) {
    return TVMRpcServer_SendException(s, "CopyToRemote: request shorter than its data");
  }
  if (CheckCopyRange(t, nbytes, &err)) return TVMRpcServer_SendException(s, err.text);
  memcpy((uint8_t*)t->data + t->byte_offset, r->p + r->pos, (size_t)nbytes);
  return ReturnVoid(s);
}

static tvm_crt_error_t HandleInitServer(TVMRpcServer* s, Reader* r) {
  RpcError err;
  TVMValue* v;
  int* c;
  int n = 0;
  uint64_t len = ReadU64(r);
  err.text[0] = '\0';
  if (r->failed || len > r->n - r->pos) return TVMRpcServer_SendException(s, "InitServer: truncated");
  r->pos += (size_t)len; /* the protocol version text is not checked, as in TVM */
  if (ReadSequence(s, r, &v, &c, &n, &err)) return TVMRpcServer_SendException(s, err.text);
  if (n != 0) return TVMRpcServer_SendException(s, "InitServer: constructor arguments are not supported");
  return ReturnVoid(s);
}

tvm_crt_error_t TVMRpcServer_HandleRequest(TVMRpcServer* s, const uint8_t* packet, size_t len) {
  Reader r;
  uint64_t packet_nbytes;
  int32_t code;
  char msg[96];
  r.p = packet;
  r.n = len;
  r.pos = 0;
  r.failed = 0;
  s->arena_used = 0; /* recycle the previous request's decoded values */
  packet_nbytes = ReadU64(&r);
  if (r.failed) return TVMRpcServer_SendException(s, "RPC packet shorter than its length field");
  if (packet_nbytes == 0) return kTvmErrorNoError; /* empty packet: no reply, as MinRPC */
  if (packet_nbytes > len - 8) {
    snprintf(msg, sizeof(msg), "RPC packet announces %llu bytes but the message holds %lu",
             (unsigned long long)packet_nbytes, (unsigned long)(len - 8));
    return TVMRpcServer_SendException(s, msg);
  }
  r.n = 8 + (size_t)packet_nbytes; /* never read past the announced packet */
  code = ReadI32(&r);
  if (r.failed) return TVMRpcServer_SendException(s, "RPC packet without a code");
  switch (code) {
    case kRPCShutdown:
      s->shutdown = 1;
      return kTvmErrorNoError; /* no reply */
    case kRPCInitServer:
      return HandleInitServer(s, &r);
    case kRPCCallFunc:
      return HandleCallFunc(s, &r);
    case kRPCCopyFromRemote:
      return HandleCopyFromRemote(s, &r);
    case kRPCCopyToRemote:
      return HandleCopyToRemote(s, &r);
    default:
      if (code >= kRPCGetGlobalFunc) return HandleSyscall(s, code, &r);
      snprintf(msg, sizeof(msg), "RPC code %d is not a request the device accepts", (int)code);
      return TVMRpcServer_SendException(s, msg);
  }
}
