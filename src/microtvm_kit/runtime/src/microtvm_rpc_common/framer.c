/*
 * Sender half of the framing layer: FF FD, escaped LEN, escaped payload, escaped CRC over the
 * escaped bytes. Output is staged in a small buffer and handed to the write callback in chunks.
 */
#include <tvm/runtime/crt/internal/rpc_common.h>

void TVMFramer_Init(TVMFramer* f, microtvm_rpc_channel_write_t write, void* context) {
  f->write = write;
  f->context = context;
  f->crc = TVM_FRAMING_CRC_INIT;
  f->need_nop_prefix = 1;
  f->staged = 0;
}

static tvm_crt_error_t Flush(TVMFramer* f) {
  size_t done = 0;
  while (done < f->staged) {
    ssize_t n = f->write(f->context, f->staging + done, f->staged - done);
    if (n == 0) {
      f->staged = 0;
      f->need_nop_prefix = 1;
      return kTvmErrorWriteStreamShortWrite;
    }
    if (n < 0) {
      f->staged = 0;
      f->need_nop_prefix = 1;
      return (tvm_crt_error_t)n;
    }
    if ((size_t)n > f->staged - done) {
      f->staged = 0;
      f->need_nop_prefix = 1;
      return kTvmErrorWriteStreamLongWrite;
    }
    done += (size_t)n;
  }
  f->staged = 0;
  return kTvmErrorNoError;
}

/* Stages raw bytes (already escaped), optionally feeding them to the CRC. */
static tvm_crt_error_t Stage(TVMFramer* f, const uint8_t* raw, size_t n, int crc) {
  tvm_crt_error_t err;
  if (f->staged + n > sizeof(f->staging)) {
    err = Flush(f);
    if (err != kTvmErrorNoError) return err;
  }
  if (crc) f->crc = TVMCrc16Update(f->crc, raw, n);
  while (n--) f->staging[f->staged++] = *raw++;
  return kTvmErrorNoError;
}

static tvm_crt_error_t StageEscaped(TVMFramer* f, const uint8_t* data, size_t len, int crc) {
  static const uint8_t kEscapedFF[2] = {TVM_FRAMING_ESCAPE, TVM_FRAMING_ESCAPE};
  size_t i;
  tvm_crt_error_t err;
  for (i = 0; i < len; i++) {
    if (data[i] == TVM_FRAMING_ESCAPE) {
      err = Stage(f, kEscapedFF, 2, crc); /* the pair is never split across writes */
    } else {
      err = Stage(f, &data[i], 1, crc);
    }
    if (err != kTvmErrorNoError) return err;
  }
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMFramer_StartPacket(TVMFramer* f, uint32_t payload_len) {
  static const uint8_t kNop = TVM_FRAMING_NOP;
  static const uint8_t kStart[2] = {TVM_FRAMING_ESCAPE, TVM_FRAMING_START};
  uint8_t len_bytes[4];
  tvm_crt_error_t err;
  f->staged = 0;
  if (f->need_nop_prefix) {
    err = Stage(f, &kNop, 1, 0);
    if (err != kTvmErrorNoError) return err;
    f->need_nop_prefix = 0;
  }
  f->crc = TVM_FRAMING_CRC_INIT;
  err = Stage(f, kStart, 2, 1);
  if (err != kTvmErrorNoError) return err;
  len_bytes[0] = (uint8_t)payload_len;
  len_bytes[1] = (uint8_t)(payload_len >> 8);
  len_bytes[2] = (uint8_t)(payload_len >> 16);
  len_bytes[3] = (uint8_t)(payload_len >> 24);
  return StageEscaped(f, len_bytes, 4, 1);
}

tvm_crt_error_t TVMFramer_WritePayload(TVMFramer* f, const uint8_t* data, size_t len) {
  return StageEscaped(f, data, len, 1);
}

tvm_crt_error_t TVMFramer_FinishPacket(TVMFramer* f) {
  uint8_t crc_bytes[2];
  tvm_crt_error_t err;
  crc_bytes[0] = (uint8_t)(f->crc & 0xff);
  crc_bytes[1] = (uint8_t)(f->crc >> 8);
  err = StageEscaped(f, crc_bytes, 2, 0);
  if (err != kTvmErrorNoError) return err;
  return Flush(f);
}
