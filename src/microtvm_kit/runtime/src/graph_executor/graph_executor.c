/*
 * Device-side graph executor. Differences from TVM's CRT executor: parse errors are reported
 * (with the byte offset) and stop creation; unknown keys are skipped instead of rejected (so
 * `storage_scope`, `control_deps` and extra node attributes are fine); a missing operator fails
 * creation; `__nop` and `__copy` are supported; operator failures stop `run` with the operator's
 * name; load_params validates the whole blob before copying into the existing input storage.
 */
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/crt/graph_executor.h>
#include <tvm/runtime/crt/internal/config.h>
#include <tvm/runtime/crt/platform.h>

#include "json_reader.h"

static const DLDevice kCPU = {kDLCPU, 0};

/* Longest JSON key we need to recognise (graph keys are short; a longer key is an error). */
#define GRAPH_KEY_BYTES 64
/* NDArray-list and NDArray magic numbers (docs/mlf.md). */
#define PARAMS_LIST_MAGIC 0xF7E58D4F05049CB7ULL
#define NDARRAY_MAGIC 0xDD5E40F096B4A13FULL

typedef struct {
  uint32_t node_id;
  uint32_t index;
} GraphEntry;

enum { kOpNull = 0, kOpTvm = 1, kOpNop = 2, kOpCopy = 3 };

typedef struct {
  char* name;
  char* func_name;
  GraphEntry* inputs;
  uint32_t num_inputs;
  uint32_t num_outputs;
  int kind;
  TVMFunctionHandle func;
  TVMValue* arg_values; /* inputs then outputs, bound at setup */
  int* arg_codes;
  int num_args;
} GraphNode;

/* The executor's tables (nodes, names, entry lists, dtypes, shapes, argument arrays) are carved
 * from a few arena blocks instead of one platform allocation each: with the page allocator every
 * allocation costs at least one page, so one block per table cost more RAM than the tables.
 * Blocks are chained so Release frees them all. */
typedef struct Block {
  struct Block* next;
  size_t used; /* payload bytes handed out */
  size_t size; /* payload bytes */
  /* payload follows, aligned */
  double align;
} Block;

/* Bounds of an arena block's payload, which is sized from the JSON length (below). The upper
 * bound keeps a pretty-printed JSON from asking for one block far larger than its tables, and
 * keeps every block a short run of pages; larger graphs simply take several blocks. */
#define GRAPH_ARENA_MIN_BYTES 1024
#define GRAPH_ARENA_MAX_BYTES 4096
/* Alignment of every table carved from the arena (int64_t, double and pointers). */
#define GRAPH_ARENA_ALIGN 8

struct TVMGraphExecutor {
  Block* blocks;      /* newest first; tables are carved from the newest */
  size_t block_bytes; /* payload of a new block, sized from the JSON length */
  DLDevice device;
  TVMModuleHandle module;
  GraphNode* nodes;
  uint32_t num_nodes;
  uint32_t* input_nodes; /* arg_nodes */
  uint32_t num_inputs;
  GraphEntry* outputs; /* heads */
  uint32_t num_outputs;
  uint32_t* row_ptr; /* first entry id of each node; num_nodes + 1 items */
  uint32_t num_entries;
  DLDataType* dtypes;
  int32_t* storage_ids;
  int32_t* ndims;
  int64_t* shapes; /* num_entries * TVM_CRT_MAX_NDIM */
  TVMNDArray** storage;
  uint32_t num_storage;
  TVMNDArray** entries; /* views of the storage */
};

/* Zeroed, aligned table of n bytes from the arena (a new block when the newest is full). */
static void* GAlloc(TVMGraphExecutor* ex, size_t n) {
  Block* b = ex->blocks;
  size_t header = offsetof(Block, align);
  size_t size;
  void* out;
  if (n > ((size_t)-1) - header - GRAPH_ARENA_ALIGN - ex->block_bytes) return NULL;
  n = (n + GRAPH_ARENA_ALIGN - 1) & ~(size_t)(GRAPH_ARENA_ALIGN - 1);
  if (b == NULL || b->size - b->used < n) {
    size = n > ex->block_bytes ? n : ex->block_bytes;
    if (TVMPlatformMemoryAllocate(header + size, kCPU, (void**)&b) != kTvmErrorNoError) return NULL;
    b->next = ex->blocks;
    b->used = 0;
    b->size = size;
    ex->blocks = b;
  }
  out = (char*)&b->align + b->used;
  b->used += n;
  memset(out, 0, n);
  return out;
}

static char* GStrDup(TVMGraphExecutor* ex, const char* s) {
  size_t n = strlen(s) + 1;
  char* out = (char*)GAlloc(ex, n);
  if (out) memcpy(out, s, n);
  return out;
}

static int JsonError(const TVMJsonReader* r, const char* what) {
  return TVMAPIErrorf("graph JSON: %s near byte %ld", what, (long)(r->p - r->begin));
}

#define OOM() TVMAPIErrorf("graph executor: out of memory")

/* Reads an array of ints into a new table; *count receives the length. */
static int ReadIntArray(TVMGraphExecutor* ex, TVMJsonReader* r, uint32_t** out, uint32_t* count) {
  long n = TVMJson_CountArray(r);
  int first = 1;
  uint32_t i = 0;
  if (n < 0) return JsonError(r, "expected an array of integers");
  *out = (uint32_t*)GAlloc(ex, sizeof(uint32_t) * (size_t)(n ? n : 1));
  if (!*out) return OOM();
  TVMJson_ArrayBegin(r);
  while (TVMJson_ArrayNext(r, &first)) {
    int64_t v;
    if ((long)i >= n || TVMJson_Int(r, &v) || v < 0 || v > 0x7fffffff) return JsonError(r, "bad integer");
    (*out)[i++] = (uint32_t)v;
  }
  if (r->failed) return JsonError(r, "bad integer array");
  *count = i;
  return 0;
}

/* [[node, index(, version)], ...] */
static int ReadEntries(TVMGraphExecutor* ex, TVMJsonReader* r, GraphEntry** out, uint32_t* count) {
  long n = TVMJson_CountArray(r);
  int first = 1;
  uint32_t i = 0;
  if (n < 0) return JsonError(r, "expected a list of [node, index, version]");
  *out = (GraphEntry*)GAlloc(ex, sizeof(GraphEntry) * (size_t)(n ? n : 1));
  if (!*out) return OOM();
  TVMJson_ArrayBegin(r);
  while (TVMJson_ArrayNext(r, &first)) {
    int inner_first = 1, k = 0;
    int64_t v[3] = {0, 0, 0};
    if ((long)i >= n || TVMJson_ArrayBegin(r)) return JsonError(r, "expected [node, index, version]");
    while (TVMJson_ArrayNext(r, &inner_first)) {
      if (k >= 3 || TVMJson_Int(r, &v[k]) || v[k] < 0 || v[k] > 0x7fffffff) {
        return JsonError(r, "bad node entry");
      }
      k++;
    }
    if (k < 2) return JsonError(r, "node entry needs [node, index]");
    (*out)[i].node_id = (uint32_t)v[0];
    (*out)[i].index = (uint32_t)v[1];
    i++;
  }
  if (r->failed) return JsonError(r, "bad node entry list");
  *count = i;
  return 0;
}

static int ParseCount(const char* s, uint32_t* out) {
  long v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 100000) return -1;
    v = v * 10 + (*s - '0');
  }
  *out = (uint32_t)v;
  return 0;
}

static int ReadNode(TVMGraphExecutor* ex, TVMJsonReader* r, GraphNode* node) {
  char key[GRAPH_KEY_BYTES];
  char value[TVM_CRT_MAX_STRLEN_FUNCTION_NAME];
  int first = 1;
  node->num_outputs = 1;
  if (TVMJson_ObjectBegin(r)) return JsonError(r, "expected a node object");
  while (TVMJson_ObjectNext(r, &first, key, sizeof(key))) {
    if (strcmp(key, "op") == 0) {
      if (TVMJson_String(r, value, sizeof(value))) return JsonError(r, "bad op");
      if (strcmp(value, "null") == 0) {
        node->kind = kOpNull;
      } else if (strcmp(value, "tvm_op") == 0) {
        node->kind = kOpTvm;
      } else {
        return TVMAPIErrorf("graph: unsupported op '%s'", value);
      }
    } else if (strcmp(key, "name") == 0) {
      if (TVMJson_String(r, value, sizeof(value))) return JsonError(r, "node name too long or bad");
      node->name = GStrDup(ex, value);
      if (!node->name) return OOM();
    } else if (strcmp(key, "inputs") == 0) {
      if (ReadEntries(ex, r, &node->inputs, &node->num_inputs)) return -1;
    } else if (strcmp(key, "attrs") == 0 || strcmp(key, "attr") == 0) {
      int afirst = 1;
      if (TVMJson_ObjectBegin(r)) return JsonError(r, "expected node attributes");
      while (TVMJson_ObjectNext(r, &afirst, key, sizeof(key))) {
        if (strcmp(key, "func_name") == 0) {
          if (TVMJson_String(r, value, sizeof(value))) return JsonError(r, "func_name too long or bad");
          node->func_name = GStrDup(ex, value);
          if (!node->func_name) return OOM();
        } else if (strcmp(key, "num_outputs") == 0) {
          if (TVMJson_String(r, value, sizeof(value)) || ParseCount(value, &node->num_outputs)) {
            return JsonError(r, "bad num_outputs");
          }
        } else if (TVMJson_Skip(r)) {
          return JsonError(r, "bad node attribute");
        }
      }
      if (r->failed) return JsonError(r, "bad node attributes");
    } else if (TVMJson_Skip(r)) {
      return JsonError(r, "bad node member");
    }
  }
  if (r->failed) return JsonError(r, "bad node");
  if (!node->name) return TVMAPIErrorf("graph: a node has no name");
  if (node->kind == kOpTvm) {
    if (!node->func_name) return TVMAPIErrorf("graph: node %s has no func_name", node->name);
    if (strcmp(node->func_name, "__nop") == 0) node->kind = kOpNop;
    if (strcmp(node->func_name, "__copy") == 0) node->kind = kOpCopy;
  }
  return 0;
}

static int ParseDType(const char* s, DLDataType* t) {
  unsigned bits = 0, lanes = 1;
  const char* p;
  if (strcmp(s, "bool") == 0) {
    t->code = kDLUInt;
    t->bits = 1;
    t->lanes = 1;
    return 0;
  }
  if (strcmp(s, "handle") == 0) {
    t->code = kDLOpaqueHandle;
    t->bits = 64;
    t->lanes = 1;
    return 0;
  }
  if (strncmp(s, "int", 3) == 0) {
    t->code = kDLInt;
    p = s + 3;
  } else if (strncmp(s, "uint", 4) == 0) {
    t->code = kDLUInt;
    p = s + 4;
  } else if (strncmp(s, "float", 5) == 0) {
    t->code = kDLFloat;
    p = s + 5;
  } else if (strncmp(s, "bfloat", 6) == 0) {
    t->code = kDLBfloat;
    p = s + 6;
  } else {
    return -1;
  }
  if (*p < '0' || *p > '9') return -1;
  /* Digit runs stop growing past the limits checked below, so they cannot wrap around. */
  while (*p >= '0' && *p <= '9' && bits <= 255) bits = bits * 10 + (unsigned)(*p++ - '0');
  if (*p == 'x') {
    lanes = 0;
    p++;
    while (*p >= '0' && *p <= '9' && lanes <= 65535) lanes = lanes * 10 + (unsigned)(*p++ - '0');
  }
  if (*p || bits == 0 || bits > 255 || lanes == 0 || lanes > 65535) return -1;
  t->bits = (uint8_t)bits;
  t->lanes = (uint16_t)lanes;
  return 0;
}

/* "attrs": {"dltype": ["list_str", [...]], "storage_id": ["list_int", [...]],
 *           "shape": ["list_shape", [[...], ...]], ...} */
static int ReadGraphAttrs(TVMGraphExecutor* ex, TVMJsonReader* r, int* have) {
  char key[GRAPH_KEY_BYTES];
  char tag[GRAPH_KEY_BYTES];
  int first = 1;
  if (TVMJson_ObjectBegin(r)) return JsonError(r, "expected graph attrs");
  while (TVMJson_ObjectNext(r, &first, key, sizeof(key))) {
    int which = strcmp(key, "dltype") == 0       ? 1
                : strcmp(key, "storage_id") == 0 ? 2
                : strcmp(key, "shape") == 0      ? 3
                                                 : 0;
    long n;
    int lfirst = 1;
    uint32_t i = 0;
    if (!which) {
      if (TVMJson_Skip(r)) return JsonError(r, "bad graph attribute");
      continue;
    }
    if (TVMJson_Expect(r, '[') || TVMJson_String(r, tag, sizeof(tag)) || TVMJson_Expect(r, ',')) {
      return JsonError(r, "graph attribute must be [type, values]");
    }
    n = TVMJson_CountArray(r);
    if (n < 0 || n > 0x7fffffff) return JsonError(r, "bad graph attribute values");
    /* The first of the three sets the entry count and sizes the tables; the others must match. */
    if (!ex->dtypes) {
      ex->num_entries = (uint32_t)n;
      ex->dtypes = (DLDataType*)GAlloc(ex, sizeof(DLDataType) * (size_t)(n ? n : 1));
      ex->storage_ids = (int32_t*)GAlloc(ex, sizeof(int32_t) * (size_t)(n ? n : 1));
      ex->ndims = (int32_t*)GAlloc(ex, sizeof(int32_t) * (size_t)(n ? n : 1));
      ex->shapes = (int64_t*)GAlloc(ex, sizeof(int64_t) * TVM_CRT_MAX_NDIM * (size_t)(n ? n : 1));
      if (!ex->dtypes || !ex->storage_ids || !ex->ndims || !ex->shapes) return OOM();
    }
    if ((uint32_t)n != ex->num_entries) return TVMAPIErrorf("graph: attrs %s has %ld entries, expected %u", key, n, (unsigned)ex->num_entries);
    TVMJson_ArrayBegin(r);
    while (TVMJson_ArrayNext(r, &lfirst)) {
      if (i >= ex->num_entries) return JsonError(r, "bad graph attribute values");
      if (which == 1) {
        char dt[TVM_CRT_MAX_STRLEN_DLTYPE + 8];
        if (TVMJson_String(r, dt, sizeof(dt)) || ParseDType(dt, &ex->dtypes[i])) {
          return JsonError(r, "unsupported dtype");
        }
      } else if (which == 2) {
        int64_t v;
        if (TVMJson_Int(r, &v) || v < 0 || v > 0xffff) return JsonError(r, "bad storage id");
        ex->storage_ids[i] = (int32_t)v;
      } else {
        int sfirst = 1, d = 0;
        if (TVMJson_ArrayBegin(r)) return JsonError(r, "bad shape");
        while (TVMJson_ArrayNext(r, &sfirst)) {
          int64_t v;
          if (d >= TVM_CRT_MAX_NDIM) return TVMAPIErrorf("graph: rank above TVM_CRT_MAX_NDIM=%d", TVM_CRT_MAX_NDIM);
          if (TVMJson_Int(r, &v) || v < 0) return JsonError(r, "bad shape dimension");
          ex->shapes[(size_t)i * TVM_CRT_MAX_NDIM + d++] = v;
        }
        ex->ndims[i] = d;
      }
      i++;
    }
    if (TVMJson_Expect(r, ']')) return JsonError(r, "graph attribute must be [type, values]");
    *have |= 1 << which;
  }
  if (r->failed) return JsonError(r, "bad graph attrs");
  return 0;
}

static int Parse(TVMGraphExecutor* ex, const char* json, size_t len) {
  TVMJsonReader r;
  char key[GRAPH_KEY_BYTES];
  int first = 1, have_attrs = 0, have_nodes = 0, have_heads = 0;
  uint32_t row_count = 0;
  TVMJson_Init(&r, json, len);
  if (TVMJson_ObjectBegin(&r)) return JsonError(&r, "expected an object");
  while (TVMJson_ObjectNext(&r, &first, key, sizeof(key))) {
    if (strcmp(key, "nodes") == 0) {
      long n = TVMJson_CountArray(&r);
      int nfirst = 1;
      uint32_t i = 0;
      if (n < 0) return JsonError(&r, "bad JSON in nodes");
      if (n == 0) return JsonError(&r, "nodes must be a non-empty array");
      ex->nodes = (GraphNode*)GAlloc(ex, sizeof(GraphNode) * (size_t)n);
      if (!ex->nodes) return OOM();
      TVMJson_ArrayBegin(&r);
      while (TVMJson_ArrayNext(&r, &nfirst)) {
        if ((long)i >= n) return JsonError(&r, "bad node list");
        if (ReadNode(ex, &r, &ex->nodes[i++])) return -1;
      }
      ex->num_nodes = i;
      have_nodes = 1;
    } else if (strcmp(key, "arg_nodes") == 0) {
      if (ReadIntArray(ex, &r, &ex->input_nodes, &ex->num_inputs)) return -1;
    } else if (strcmp(key, "heads") == 0) {
      if (ReadEntries(ex, &r, &ex->outputs, &ex->num_outputs)) return -1;
      have_heads = 1;
    } else if (strcmp(key, "node_row_ptr") == 0) {
      if (ReadIntArray(ex, &r, &ex->row_ptr, &row_count)) return -1;
    } else if (strcmp(key, "attrs") == 0) {
      if (ReadGraphAttrs(ex, &r, &have_attrs)) return -1;
    } else if (TVMJson_Skip(&r)) {
      return JsonError(&r, "bad top-level member");
    }
  }
  if (r.failed) return JsonError(&r, "syntax error");
  if (!have_nodes || !have_heads || have_attrs != 0xe) {
    return TVMAPIErrorf("graph: nodes, heads and attrs (dltype, storage_id, shape) are required");
  }
  if (ex->row_ptr == NULL) {
    /* Derive entry ids from the nodes' output counts. */
    uint32_t i, acc = 0;
    ex->row_ptr = (uint32_t*)GAlloc(ex, sizeof(uint32_t) * (ex->num_nodes + 1));
    if (!ex->row_ptr) return OOM();
    for (i = 0; i < ex->num_nodes; i++) {
      ex->row_ptr[i] = acc;
      acc += ex->nodes[i].num_outputs;
    }
    ex->row_ptr[ex->num_nodes] = acc;
    row_count = ex->num_nodes + 1;
  }
  if (row_count != ex->num_nodes + 1 || ex->row_ptr[0] != 0 ||
      ex->row_ptr[ex->num_nodes] != ex->num_entries) {
    return TVMAPIErrorf("graph: node_row_ptr does not match the %u entries", (unsigned)ex->num_entries);
  }
  {
    uint32_t i;
    for (i = 0; i < ex->num_nodes; i++) {
      /* Every node owns at least one entry, so entry ids stay inside the tables. */
      if (ex->row_ptr[i + 1] <= ex->row_ptr[i]) {
        return TVMAPIErrorf("graph: node_row_ptr is not increasing at node %u", (unsigned)i);
      }
    }
  }
  return 0;
}

static int EntryId(const TVMGraphExecutor* ex, GraphEntry e, uint32_t* out) {
  if (e.node_id >= ex->num_nodes) return TVMAPIErrorf("graph: entry names node %u of %u", (unsigned)e.node_id, (unsigned)ex->num_nodes);
  if (ex->row_ptr[e.node_id] + e.index >= ex->row_ptr[e.node_id + 1]) {
    return TVMAPIErrorf("graph: node %u has no output %u", (unsigned)e.node_id, (unsigned)e.index);
  }
  *out = ex->row_ptr[e.node_id] + e.index;
  return 0;
}

/* Largest tensor the executor plans for (bytes); keeps size arithmetic far from overflow. */
#define GRAPH_MAX_TENSOR_BYTES ((int64_t)1 << 40)

/* Bytes of entry `eid`, or -1 when the shape is absurdly large. */
static int64_t EntryBytes(const TVMGraphExecutor* ex, uint32_t eid) {
  int64_t n = 1;
  int32_t d;
  DLDataType t = ex->dtypes[eid];
  for (d = 0; d < ex->ndims[eid]; d++) {
    int64_t dim = ex->shapes[(size_t)eid * TVM_CRT_MAX_NDIM + d];
    if (dim != 0 && n > GRAPH_MAX_TENSOR_BYTES / dim) return -1;
    n *= dim;
  }
  if (n > GRAPH_MAX_TENSOR_BYTES / 2048) return -1; /* times bits * lanes below */
  return (n * t.bits * t.lanes + 7) / 8;
}

static int Setup(TVMGraphExecutor* ex) {
  uint32_t e, i, k;
  int64_t* sizes;
  DLDataType u8 = {kDLUInt, 8, 1};
  for (e = 0; e < ex->num_entries; e++) {
    if ((uint32_t)ex->storage_ids[e] + 1 > ex->num_storage) ex->num_storage = (uint32_t)ex->storage_ids[e] + 1;
  }
  sizes = (int64_t*)GAlloc(ex, sizeof(int64_t) * (ex->num_storage ? ex->num_storage : 1));
  ex->storage = (TVMNDArray**)GAlloc(ex, sizeof(TVMNDArray*) * (ex->num_storage ? ex->num_storage : 1));
  ex->entries = (TVMNDArray**)GAlloc(ex, sizeof(TVMNDArray*) * (ex->num_entries ? ex->num_entries : 1));
  if (!sizes || !ex->storage || !ex->entries) return OOM();
  for (e = 0; e < ex->num_entries; e++) {
    int64_t b = EntryBytes(ex, e);
    if (b < 0) return TVMAPIErrorf("graph: entry %u has an unsupported size", (unsigned)e);
    if (b > sizes[ex->storage_ids[e]]) sizes[ex->storage_ids[e]] = b;
  }
  for (i = 0; i < ex->num_storage; i++) {
    int64_t shape[1];
    shape[0] = sizes[i] ? sizes[i] : 1;
    if (TVMNDArray_Create(1, shape, u8, ex->device, &ex->storage[i])) return -1;
  }
  for (e = 0; e < ex->num_entries; e++) {
    if (TVMNDArray_CreateView(ex->ndims[e], &ex->shapes[(size_t)e * TVM_CRT_MAX_NDIM], ex->dtypes[e],
                              ex->device, ex->storage[ex->storage_ids[e]]->dl_tensor.data,
                              &ex->entries[e])) {
      return -1;
    }
  }
  for (i = 0; i < ex->num_inputs; i++) {
    if (ex->input_nodes[i] >= ex->num_nodes) return TVMAPIErrorf("graph: arg_nodes names node %u", (unsigned)ex->input_nodes[i]);
  }
  for (i = 0; i < ex->num_outputs; i++) {
    uint32_t eid = 0;
    if (EntryId(ex, ex->outputs[i], &eid)) return -1;
  }
  for (i = 0; i < ex->num_nodes; i++) {
    GraphNode* n = &ex->nodes[i];
    uint32_t nout = ex->row_ptr[i + 1] - ex->row_ptr[i];
    if (n->kind == kOpNull || n->kind == kOpNop) continue;
    n->num_args = (int)(n->num_inputs + nout);
    if (n->num_args > TVM_CRT_MAX_ARGS) {
      return TVMAPIErrorf("graph: operator %s takes %d tensors, TVM_CRT_MAX_ARGS is %d", n->name, n->num_args, TVM_CRT_MAX_ARGS);
    }
    n->arg_values = (TVMValue*)GAlloc(ex, sizeof(TVMValue) * (size_t)n->num_args);
    n->arg_codes = (int*)GAlloc(ex, sizeof(int) * (size_t)n->num_args);
    if (!n->arg_values || !n->arg_codes) return OOM();
    for (k = 0; k < (uint32_t)n->num_args; k++) {
      uint32_t eid = 0;
      if (k < n->num_inputs) {
        if (EntryId(ex, n->inputs[k], &eid)) return -1;
      } else {
        eid = ex->row_ptr[i] + (k - n->num_inputs);
      }
      n->arg_values[k].v_handle = &ex->entries[eid]->dl_tensor;
      n->arg_codes[k] = kTVMNDArrayHandle;
    }
    if (n->kind == kOpCopy) {
      if (n->num_args != 2) return TVMAPIErrorf("graph: __copy node %s needs 1 input and 1 output", n->name);
      continue;
    }
    if (TVMModGetFunction(ex->module, n->func_name, 1, &n->func) != 0 || n->func == NULL) {
      return TVMAPIErrorf("graph: operator %s not found in the module", n->func_name);
    }
  }
  return 0;
}

int TVMGraphExecutor_Release(TVMGraphExecutor* ex) {
  uint32_t i;
  Block* b;
  if (ex->entries) {
    for (i = 0; i < ex->num_entries; i++) {
      if (ex->entries[i]) TVMNDArray_Release(ex->entries[i]);
    }
  }
  if (ex->storage) {
    for (i = 0; i < ex->num_storage; i++) {
      if (ex->storage[i]) TVMNDArray_Release(ex->storage[i]);
    }
  }
  b = ex->blocks;
  while (b) {
    Block* next = b->next;
    TVMPlatformMemoryFree(b, kCPU);
    b = next;
  }
  TVMPlatformMemoryFree(ex, kCPU);
  return 0;
}

int TVMGraphExecutor_Create(const char* json, size_t json_len, TVMModuleHandle module_handle,
                            DLDevice device, TVMGraphExecutor** out) {
  TVMGraphExecutor* ex = NULL;
  if (TVMPlatformMemoryAllocate(sizeof(*ex), kCPU, (void**)&ex) != kTvmErrorNoError) return OOM();
  memset(ex, 0, sizeof(*ex));
  ex->device = device;
  ex->module = module_handle;
  /* The tables take about as many bytes as the minified JSON text (x86-64: 2,448 for MNIST's
   * 2,687, 3,648 for 3,154 with the weights as graph inputs), so one or two blocks hold them. */
  ex->block_bytes = json_len < GRAPH_ARENA_MIN_BYTES   ? GRAPH_ARENA_MIN_BYTES
                    : json_len > GRAPH_ARENA_MAX_BYTES ? GRAPH_ARENA_MAX_BYTES
                                                       : json_len;
  if (Parse(ex, json, json_len) || Setup(ex)) {
    TVMGraphExecutor_Release(ex);
    return -1;
  }
  *out = ex;
  return 0;
}

int TVMGraphExecutor_GetNumInputs(const TVMGraphExecutor* ex) { return (int)ex->num_inputs; }
int TVMGraphExecutor_GetNumOutputs(const TVMGraphExecutor* ex) { return (int)ex->num_outputs; }
int TVMGraphExecutor_GetNumNodes(const TVMGraphExecutor* ex) { return (int)ex->num_nodes; }

const char* TVMGraphExecutor_GetNodeName(const TVMGraphExecutor* ex, int node) {
  if (node < 0 || (uint32_t)node >= ex->num_nodes) return NULL;
  return ex->nodes[node].name;
}

int TVMGraphExecutor_GetInputIndex(const TVMGraphExecutor* ex, const char* name) {
  uint32_t i;
  for (i = 0; i < ex->num_inputs; i++) {
    if (strcmp(ex->nodes[ex->input_nodes[i]].name, name) == 0) return (int)i;
  }
  return -1;
}

const char* TVMGraphExecutor_GetInputName(const TVMGraphExecutor* ex, int index) {
  if (index < 0 || (uint32_t)index >= ex->num_inputs) return NULL;
  return ex->nodes[ex->input_nodes[index]].name;
}

TVMNDArray* TVMGraphExecutor_GetInput(const TVMGraphExecutor* ex, int index) {
  if (index < 0 || (uint32_t)index >= ex->num_inputs) return NULL;
  return ex->entries[ex->row_ptr[ex->input_nodes[index]]];
}

TVMNDArray* TVMGraphExecutor_GetOutput(const TVMGraphExecutor* ex, int index) {
  uint32_t eid = 0;
  if (index < 0 || (uint32_t)index >= ex->num_outputs) return NULL;
  if (EntryId(ex, ex->outputs[index], &eid)) return NULL;
  return ex->entries[eid];
}

int TVMGraphExecutor_SetInput(TVMGraphExecutor* ex, int index, const DLTensor* tensor) {
  TVMNDArray* in = TVMGraphExecutor_GetInput(ex, index);
  int64_t want, got;
  if (!in) return TVMAPIErrorf("set_input: no input %d", index);
  want = TVMNDArray_DataSizeBytes(&in->dl_tensor);
  got = TVMNDArray_DataSizeBytes(tensor);
  if (want != got) {
    return TVMAPIErrorf("set_input: input %s has %ld bytes, the tensor given has %ld",
                        TVMGraphExecutor_GetInputName(ex, index), (long)want, (long)got);
  }
  memcpy(in->dl_tensor.data, (const char*)tensor->data + tensor->byte_offset, (size_t)want);
  return 0;
}

/* Bounded little-endian reads over the params blob. */
typedef struct {
  const uint8_t* p;
  size_t n, pos;
} Blob;

static int Take(Blob* b, void* out, size_t k) {
  if (k > b->n - b->pos) return -1;
  if (out) memcpy(out, b->p + b->pos, k);
  b->pos += k;
  return 0;
}

/* One pass over the blob; copies only when `apply`. */
static int ParamsPass(TVMGraphExecutor* ex, const char* data, size_t size, int apply) {
  Blob b;
  uint64_t magic, reserved, count, count2, i;
  size_t names_pos;
  b.p = (const uint8_t*)data;
  b.n = size;
  b.pos = 0;
  if (Take(&b, &magic, 8) || Take(&b, &reserved, 8) || Take(&b, &count, 8)) {
    return TVMAPIErrorf("load_params: truncated header");
  }
  if (magic != PARAMS_LIST_MAGIC) return TVMAPIErrorf("load_params: not a parameter list (bad magic)");
  if (count > size / 8) return TVMAPIErrorf("load_params: bad parameter count");
  names_pos = b.pos;
  for (i = 0; i < count; i++) {
    uint64_t len;
    if (Take(&b, &len, 8) || len > b.n - b.pos) return TVMAPIErrorf("load_params: truncated name");
    b.pos += (size_t)len;
  }
  if (Take(&b, &count2, 8) || count2 != count) return TVMAPIErrorf("load_params: name and array counts differ");
  for (i = 0; i < count; i++) {
    Blob nb;
    uint64_t len = 0, tmagic = 0, treserved = 0;
    int64_t data_size, expected;
    int32_t dev_type, dev_id, ndim, d;
    DLDataType dtype;
    int64_t shape[TVM_CRT_MAX_NDIM];
    char name[TVM_CRT_MAX_STRLEN_PARAM_NAME];
    int idx;
    TVMNDArray* in;
    /* name i */
    nb = b;
    nb.pos = names_pos;
    Take(&nb, &len, 8);
    if (len >= sizeof(name)) return TVMAPIErrorf("load_params: parameter name longer than %d", (int)sizeof(name) - 1);
    memcpy(name, nb.p + nb.pos, (size_t)len);
    name[len] = '\0';
    names_pos = nb.pos + (size_t)len;
    /* array i */
    if (Take(&b, &tmagic, 8) || Take(&b, &treserved, 8) || Take(&b, &dev_type, 4) || Take(&b, &dev_id, 4) ||
        Take(&b, &ndim, 4) || Take(&b, &dtype, 4)) {
      return TVMAPIErrorf("load_params: truncated array %s", name);
    }
    if (tmagic != NDARRAY_MAGIC) return TVMAPIErrorf("load_params: array %s has a bad magic", name);
    if (dev_type != kDLCPU) return TVMAPIErrorf("load_params: array %s is not a CPU array", name);
    if (ndim < 0 || ndim > TVM_CRT_MAX_NDIM) return TVMAPIErrorf("load_params: array %s has rank %d", name, (int)ndim);
    for (d = 0; d < ndim; d++) {
      if (Take(&b, &shape[d], 8)) return TVMAPIErrorf("load_params: truncated array %s", name);
    }
    if (Take(&b, &data_size, 8) || data_size < 0 || (uint64_t)data_size > b.n - b.pos) {
      return TVMAPIErrorf("load_params: truncated data of %s", name);
    }
    idx = TVMGraphExecutor_GetInputIndex(ex, name);
    if (idx < 0) return TVMAPIErrorf("load_params: %s is not an input of the graph", name);
    in = TVMGraphExecutor_GetInput(ex, idx);
    expected = TVMNDArray_DataSizeBytes(&in->dl_tensor);
    if (expected != data_size || in->dl_tensor.dtype.code != dtype.code || in->dl_tensor.dtype.bits != dtype.bits) {
      return TVMAPIErrorf("load_params: %s has %ld bytes of a different type than the graph's %ld", name, (long)data_size, (long)expected);
    }
    if (apply) memcpy(in->dl_tensor.data, b.p + b.pos, (size_t)data_size);
    b.pos += (size_t)data_size;
  }
  return 0;
}

int TVMGraphExecutor_LoadParams(TVMGraphExecutor* ex, const char* data, size_t size) {
  if (ParamsPass(ex, data, size, 0)) return -1; /* validate everything first */
  return ParamsPass(ex, data, size, 1);
}

static int RunNode(TVMGraphExecutor* ex, uint32_t i) {
  GraphNode* n = &ex->nodes[i];
  TVMValue ret;
  int code;
  if (n->kind == kOpTvm) {
    if (TVMFuncCall(n->func, n->arg_values, n->arg_codes, n->num_args, &ret, &code) != 0) {
      return TVMAPIErrorf("graph: operator %s failed", n->func_name);
    }
  } else if (n->kind == kOpCopy) {
    return TVMDeviceCopyDataFromTo((DLTensor*)n->arg_values[0].v_handle,
                                   (DLTensor*)n->arg_values[1].v_handle, NULL);
  }
  return 0;
}

int TVMGraphExecutor_Run(TVMGraphExecutor* ex) {
  uint32_t i;
  for (i = 0; i < ex->num_nodes; i++) {
    if (RunNode(ex, i)) return -1;
  }
  return 0;
}

int TVMGraphExecutor_RunProfile(TVMGraphExecutor* ex, double* node_seconds) {
  uint32_t i;
  for (i = 0; i < ex->num_nodes; i++) {
    double t = 0;
    node_seconds[i] = 0;
    if (ex->nodes[i].kind == kOpNull || ex->nodes[i].kind == kOpNop) continue;
    if (TVMPlatformTimerStart() != kTvmErrorNoError) return TVMAPIErrorf("profile: timer busy");
    if (RunNode(ex, i)) {
      TVMPlatformTimerStop(&t);
      return -1;
    }
    if (TVMPlatformTimerStop(&t) != kTvmErrorNoError) return TVMAPIErrorf("profile: timer failure");
    node_seconds[i] = t;
  }
  return 0;
}
