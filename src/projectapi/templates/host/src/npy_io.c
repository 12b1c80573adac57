/* .npy format version 1-3: magic "\x93NUMPY", version, header length, a Python dict literal
 * header padded with spaces and a newline, then the C-order data. */
#include "npy_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_BYTES 6
#define NPY_HEADER_ALIGN 64
#define NPY_MAX_HEADER_BYTES 4096

/* The numpy type string of a tensor, e.g. "<f4", "|i1". */
static void descr_of(const projectapi_tensor_desc_t* desc, char* out, size_t out_size) {
  static const char kKinds[] = {'i', 'u', 'f', 'V', 'V'};
  int itemsize = (desc->dtype.bits + 7) / 8;
  char kind = desc->dtype.code < sizeof(kKinds) ? kKinds[desc->dtype.code] : 'V';
  snprintf(out, out_size, "%c%c%d", itemsize == 1 ? '|' : '<', kind, itemsize);
}

static long file_size(FILE* file) {
  if (fseek(file, 0, SEEK_END) != 0) return -1;
  long size = ftell(file);
  return fseek(file, 0, SEEK_SET) == 0 ? size : -1;
}

/* Skips the .npy header after checking its dtype; returns the data offset or -1. */
static long npy_data_offset(FILE* file, const char* path, const projectapi_tensor_desc_t* desc) {
  unsigned char prefix[12];
  if (fread(prefix, 1, 10, file) != 10) return -1;
  size_t header_len = (size_t)prefix[8] | (size_t)prefix[9] << 8;
  long offset = 10;
  if (prefix[6] >= 2) {
    if (fread(prefix + 10, 1, 2, file) != 2) return -1;
    header_len |= (size_t)prefix[10] << 16 | (size_t)prefix[11] << 24;
    offset = 12;
  }
  if (header_len > NPY_MAX_HEADER_BYTES) {
    fprintf(stderr, "error: %s: .npy header too long\n", path);
    return -1;
  }
  char header[NPY_MAX_HEADER_BYTES + 1];
  if (fread(header, 1, header_len, file) != header_len) return -1;
  header[header_len] = '\0';
  char descr[16];
  descr_of(desc, descr, sizeof(descr));
  char* found = strstr(header, "'descr': '");
  const char* alt = descr[0] == '|' ? NULL : descr + 1; /* "<f4" may be written "=f4" */
  if (found == NULL || strstr(header, "'fortran_order': True") != NULL ||
      (strncmp(found + 10, descr, strlen(descr)) != 0 &&
       (alt == NULL || found[10] != '=' || strncmp(found + 11, alt, strlen(alt)) != 0))) {
    fprintf(stderr, "error: %s: expected a C-order .npy array of dtype %s for tensor '%s'\n",
            path, descr, desc->name);
    return -1;
  }
  return offset + (long)header_len;
}

int projectapi_read_tensor(const char* path, const projectapi_tensor_desc_t* desc, void* data) {
  FILE* file = fopen(path, "rb");
  if (file == NULL) {
    fprintf(stderr, "error: cannot open input file %s\n", path);
    return 1;
  }
  long size = file_size(file);
  char magic[NPY_MAGIC_BYTES] = {0};
  long offset = 0;
  if (size >= NPY_MAGIC_BYTES && fread(magic, 1, NPY_MAGIC_BYTES, file) == NPY_MAGIC_BYTES &&
      memcmp(magic, NPY_MAGIC, NPY_MAGIC_BYTES) == 0) {
    fseek(file, 0, SEEK_SET);
    offset = npy_data_offset(file, path, desc);
  }
  int ok = size >= 0 && offset >= 0 && (size_t)(size - offset) == desc->nbytes &&
           fseek(file, offset, SEEK_SET) == 0 && fread(data, 1, desc->nbytes, file) == desc->nbytes;
  fclose(file);
  if (!ok) {
    fprintf(stderr, "error: %s: tensor '%s' needs exactly %zu data bytes (raw or .npy)\n", path,
            desc->name, desc->nbytes);
  }
  return ok ? 0 : 1;
}

static int ends_with(const char* text, const char* suffix) {
  size_t n = strlen(text), m = strlen(suffix);
  return n >= m && strcmp(text + n - m, suffix) == 0;
}

int projectapi_write_tensor(const char* path, const projectapi_tensor_desc_t* desc,
                            const void* data) {
  FILE* file = fopen(path, "wb");
  if (file == NULL) {
    fprintf(stderr, "error: cannot create output file %s\n", path);
    return 1;
  }
  int ok = 1;
  if (ends_with(path, ".npy")) {
    char descr[16], shape[256] = "", header[NPY_MAX_HEADER_BYTES];
    descr_of(desc, descr, sizeof(descr));
    for (int32_t i = 0; i < desc->ndim; ++i) {
      size_t used = strlen(shape);
      snprintf(shape + used, sizeof(shape) - used, "%lld,%s", (long long)desc->shape[i],
               i + 1 < desc->ndim ? " " : "");
    }
    int len = snprintf(header, sizeof(header),
                       "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
    int total = 10 + len + 1;
    int pad = (NPY_HEADER_ALIGN - total % NPY_HEADER_ALIGN) % NPY_HEADER_ALIGN;
    unsigned header_len = (unsigned)(len + pad + 1);
    unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                (unsigned char)(header_len & 0xFF), (unsigned char)(header_len >> 8)};
    ok = fwrite(prefix, 1, sizeof(prefix), file) == sizeof(prefix) &&
         fwrite(header, 1, (size_t)len, file) == (size_t)len;
    for (int i = 0; ok && i < pad; ++i) ok = fputc(' ', file) != EOF;
    ok = ok && fputc('\n', file) != EOF;
  }
  ok = ok && fwrite(data, 1, desc->nbytes, file) == desc->nbytes;
  ok = (fclose(file) == 0) && ok;
  if (!ok) fprintf(stderr, "error: cannot write output file %s\n", path);
  return ok ? 0 : 1;
}
