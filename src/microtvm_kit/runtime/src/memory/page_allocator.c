/*
 * Page allocator. The pool is split into pages at its start (so page addresses keep the pool's
 * alignment); the manager and a one-word-per-page table sit at its end. A block is a run of
 * pages; the table entry of a block's first page holds its length and an "allocated" bit.
 * Allocation is first fit; free runs are merged while scanning, so memory never fragments into
 * unusable single pages the way a never-merging free list does.
 */
#include <string.h>
#include <tvm/runtime/crt/page_allocator.h>

#define PAGE_ALLOCATED 0x80000000u
#define PAGE_LENGTH_MASK 0x7fffffffu

typedef struct {
  MemoryManagerInterface interface; /* first, so the interface pointer is the manager */
  uint8_t* pages;
  uint32_t* table; /* one entry per page */
  size_t num_pages;
  size_t page_size_log2;
} PageMemoryManager;

/* Merges the free blocks following the free block at `i`; returns its new length. */
static uint32_t Coalesce(PageMemoryManager* mgr, size_t i) {
  uint32_t len = mgr->table[i] & PAGE_LENGTH_MASK;
  size_t j = i + len;
  while (j < mgr->num_pages && !(mgr->table[j] & PAGE_ALLOCATED)) {
    uint32_t next = mgr->table[j] & PAGE_LENGTH_MASK;
    if (next == 0) break; /* corrupted table: never loop forever */
    len += next;
    mgr->table[j] = 0;
    j = i + len;
  }
  mgr->table[i] = len;
  return len;
}

static tvm_crt_error_t PageAllocate(MemoryManagerInterface* interface, size_t num_bytes,
                                    DLDevice dev, void** out_ptr) {
  PageMemoryManager* mgr = (PageMemoryManager*)interface;
  size_t page_size = (size_t)1 << mgr->page_size_log2;
  size_t need = (num_bytes + page_size - 1) >> mgr->page_size_log2;
  size_t i = 0;
  (void)dev;
  if (num_bytes > ((size_t)-1) - page_size) return kTvmErrorPlatformNoMemory;
  if (need == 0) need = 1; /* every allocation gets its own address */
  while (i < mgr->num_pages) {
    uint32_t entry = mgr->table[i];
    uint32_t len = entry & PAGE_LENGTH_MASK;
    if (len == 0) return kTvmErrorPlatformCheckFailure; /* corrupted table */
    if (!(entry & PAGE_ALLOCATED)) {
      len = Coalesce(mgr, i);
      if (len >= need) {
        if (len > need) mgr->table[i + need] = (uint32_t)(len - need);
        mgr->table[i] = (uint32_t)need | PAGE_ALLOCATED;
        *out_ptr = mgr->pages + (i << mgr->page_size_log2);
        interface->vleak_size++;
        return kTvmErrorNoError;
      }
    }
    i += len;
  }
  return kTvmErrorPlatformNoMemory;
}

static tvm_crt_error_t PageFree(MemoryManagerInterface* interface, void* ptr, DLDevice dev) {
  PageMemoryManager* mgr = (PageMemoryManager*)interface;
  uintptr_t offset;
  size_t i;
  (void)dev;
  if (ptr == NULL) return kTvmErrorNoError;
  if ((uint8_t*)ptr < mgr->pages) return kTvmErrorPlatformCheckFailure;
  offset = (uintptr_t)((uint8_t*)ptr - mgr->pages);
  i = (size_t)(offset >> mgr->page_size_log2);
  /* Only the exact start of a live block may be freed (also catches double frees). */
  if (i >= mgr->num_pages || (offset & (((uintptr_t)1 << mgr->page_size_log2) - 1)) != 0 ||
      !(mgr->table[i] & PAGE_ALLOCATED)) {
    return kTvmErrorPlatformCheckFailure;
  }
  mgr->table[i] &= PAGE_LENGTH_MASK;
  Coalesce(mgr, i);
  interface->vleak_size--;
  return kTvmErrorNoError;
}

tvm_crt_error_t PageMemoryManagerCreate(MemoryManagerInterface** manager, uint8_t* memory_pool,
                                        size_t memory_pool_size_bytes,
                                        size_t page_size_bytes_log2) {
  size_t page_size;
  size_t overhead = sizeof(PageMemoryManager) + 2 * sizeof(void*); /* + alignment slack */
  size_t n;
  uintptr_t meta;
  PageMemoryManager* mgr;
  if (page_size_bytes_log2 < 3 || page_size_bytes_log2 > 20) return kTvmErrorFunctionCallInvalidArg;
  page_size = (size_t)1 << page_size_bytes_log2;
  if (memory_pool_size_bytes <= overhead + page_size + sizeof(uint32_t)) {
    return kTvmErrorPlatformNoMemory;
  }
  n = (memory_pool_size_bytes - overhead) / (page_size + sizeof(uint32_t));
  if (n > PAGE_LENGTH_MASK) n = PAGE_LENGTH_MASK;
  /* Metadata after the pages, aligned for pointers. */
  meta = (uintptr_t)(memory_pool + n * page_size);
  meta = (meta + sizeof(void*) - 1) & ~(uintptr_t)(sizeof(void*) - 1);
  mgr = (PageMemoryManager*)meta;
  memset(mgr, 0, sizeof(*mgr));
  mgr->interface.Allocate = PageAllocate;
  mgr->interface.Free = PageFree;
  mgr->interface.vleak_size = 0;
  mgr->pages = memory_pool;
  mgr->table = (uint32_t*)(meta + sizeof(PageMemoryManager));
  mgr->num_pages = n;
  mgr->page_size_log2 = page_size_bytes_log2;
  memset(mgr->table, 0, n * sizeof(uint32_t));
  mgr->table[0] = (uint32_t)n; /* one free block covering every page */
  *manager = &mgr->interface;
  return kTvmErrorNoError;
}

size_t PageMemoryManagerLargestFree(MemoryManagerInterface* manager) {
  PageMemoryManager* mgr = (PageMemoryManager*)manager;
  size_t i = 0, best = 0;
  while (i < mgr->num_pages) {
    uint32_t len = mgr->table[i] & PAGE_LENGTH_MASK;
    if (len == 0) break;
    if (!(mgr->table[i] & PAGE_ALLOCATED)) {
      len = Coalesce(mgr, i);
      if (len > best) best = len;
    }
    i += len;
  }
  return best << mgr->page_size_log2;
}
