/*
** heap.c — how the wasm heap grows.
**
** wasi-libc's malloc (dlmalloc) asks sbrk() for each extension of its heap, in
** steps of its 64 KiB granularity, and libc's sbrk() turns every one into a
** memory.grow. In V8 a grow is far dearer than its size suggests: it replaces
** the memory's ArrayBuffer (the host's views with it) and reports external
** memory, which starts garbage collections. Profiled on speedtest1 (issue 17),
** sbrk and the collections it caused were 12% of the run.
**
** This sbrk() keeps the break exactly where malloc puts it, as sbrk must, but
** grows the memory ahead of it by an eighth of its size, within the bounds of
** config.h, so a heap that doubles costs a handful of grows, not hundreds. It
** replaces libc's (the linker takes an archive member only for a symbol nothing
** else defines). Native builds keep their libc's.
*/
#if defined(__wasm__)
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define WASM_PAGE_BYTES 65536u

/* The break: the end of what malloc owns. 0 until the first call, which
** starts it at the end of memory, where libc's own sbrk would. */
static uintptr_t heapBreak = 0;

/* Grow memory by at least nNeed bytes, by more when that is cheap. 0 or -1. */
static int heapGrow(uintptr_t nEnd, uintptr_t nNeed){
  uintptr_t nStep = nEnd/8;
  if( nStep<DOSQL_HEAP_GROW_MIN_BYTES ) nStep = DOSQL_HEAP_GROW_MIN_BYTES;
  if( nStep>DOSQL_HEAP_GROW_MAX_BYTES ) nStep = DOSQL_HEAP_GROW_MAX_BYTES;
  if( nStep<nNeed ) nStep = nNeed;
  if( __builtin_wasm_memory_grow(0, (nStep + WASM_PAGE_BYTES - 1)/WASM_PAGE_BYTES)!=(size_t)-1 ){
    return 0;
  }
  /* Near the limit: only what is needed. */
  if( __builtin_wasm_memory_grow(0, (nNeed + WASM_PAGE_BYTES - 1)/WASM_PAGE_BYTES)!=(size_t)-1 ){
    return 0;
  }
  return -1;
}

void *sbrk(intptr_t nIncrement){
  uintptr_t nEnd = __builtin_wasm_memory_size(0) * WASM_PAGE_BYTES;
  uintptr_t nOld;
  if( heapBreak==0 ) heapBreak = nEnd;
  nOld = heapBreak;
  /* dlmalloc never shrinks the heap here (wasi-libc builds it without trim),
  ** and a break past the address space is no break. */
  if( nIncrement<0 || (uintptr_t)nIncrement > UINTPTR_MAX - heapBreak ) return (void*)-1;
  if( (uintptr_t)nIncrement > nEnd - heapBreak
   && heapGrow(nEnd, heapBreak + (uintptr_t)nIncrement - nEnd)!=0 ){
    return (void*)-1;
  }
  heapBreak += (uintptr_t)nIncrement;
  return (void*)nOld;
}
#endif /* __wasm__ */
