/*
** bytes.h — fixed-width integers in byte arrays, and the page size rule: the
** little helpers more than one file of the engine needs.
*/
#ifndef DOSQL_BYTES_H
#define DOSQL_BYTES_H

#include <stdint.h>

static inline uint32_t dosqlGet32be(const uint8_t *a){
  return ((uint32_t)a[0]<<24) | ((uint32_t)a[1]<<16) | ((uint32_t)a[2]<<8) | a[3];
}

static inline void dosqlPut32le(uint8_t *a, uint32_t v){
  a[0] = (uint8_t)v; a[1] = (uint8_t)(v>>8); a[2] = (uint8_t)(v>>16); a[3] = (uint8_t)(v>>24);
}

/* Whether n is a page size SQLite supports: a power of two from 512 to 65536. */
static inline int dosqlValidPageSize(long long n){
  return n>=512 && n<=65536 && (n & (n-1))==0;
}

#endif /* DOSQL_BYTES_H */
