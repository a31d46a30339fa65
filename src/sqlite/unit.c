/*
** unit.c — SQLite's translation unit: the amalgamation, and the few things of
** ours that need SQLite's internals (contract in unit.h). SQLite's own wasm
** build does the same (ext/wasm/api/sqlite3-wasm.c includes sqlite3.c). It is
** compiled as third-party code, without our warning flags.
**
** Metering built-in functions. A function such as instr(), LIKE or replace()
** does O(n*m) work inside a single VM step, where the progress handler never
** looks: on strings under the heap limit one call ran for seconds. Each
** metered built-in's FuncDef is patched in place, its xSFunc replaced by a
** slot that charges the request's budget (budget.h) before the call, with an
** upper bound of its work taken from its arguments' sizes, and refuses the
** call when the budget cannot pay; after the call it charges the bytes of the
** result. Patching the FuncDef keeps every flag the planner reads (the LIKE
** optimisation, constant folding) as SQLite set it.
**
** Metering comparisons of bytes. A sort compares about N log N keys inside one
** VM step, and an index's search (DISTINCT, GROUP BY, a UNIQUE check, CREATE
** INDEX) a key per level: under BINARY each comparison is a memcmp() as long
** as the keys' shared prefix (60,000 strings of 400 bytes sharing 400 were
** sorted in 0.6 s, charged by the rows). Every memcmp() of SQLite's is
** compiled as dosqlMemcmp(), which charges the bytes found equal, in blocks of
** DOSQL_CPU_COMPARE_BLOCK: shorter prefixes are paid for by the steps.
**
** Metering numbers parsed from text. `v + 0`, CAST, abs(v), a numeric
** affinity: each parses its text operand inside one VM step, scanning every
** digit (150,000 conversions of a 60,000-digit text ran 21 s). SQLite's two
** parsers, sqlite3AtoF() and sqlite3Atoi64(), are defined here, charging the
** text's bytes before they call SQLite's, which the copy of the amalgamation
** included names sqlite3AtoFOriginal() and sqlite3Atoi64Original()
** (src/sqlite/interpose.sh: a macro cannot rename a definition but not its calls).
**
** Metering sorts and index searches. A sort compares its records N log N times
** inside one VM step (OP_SorterSort), an insert into an index log N times: the
** comparisons SQLite's sorter and its index searches pick (vdbeSorterGetCompare,
** sqlite3VdbeFindCompare, interposed too) are wrapped to charge each call by the
** records' bytes.
*/
#include <string.h>

static int dosqlMemcmp(const void *pA, const void *pB, size_t n);
#define memcmp(A, B, N) dosqlMemcmp((A), (B), (N))
#include "sqlite3-interposed.c"
#undef memcmp

#include "budget.h"
#include "config.h"
#include "decimal.h"
#include "unit.h"

/* memcmp(), as SQLite's code calls it: the equal prefix is found eight bytes
** at a time (wasi-libc's memcmp() goes byte by byte, about 1.5 GB/s), and
** charged when it is DOSQL_CPU_COMPARE_BLOCK bytes or more; the bytes from
** the first eight that differ are compared one by one. */
static int dosqlMemcmp(const void *pA, const void *pB, size_t n){
  const unsigned char *a = (const unsigned char*)pA;
  const unsigned char *b = (const unsigned char*)pB;
  size_t i = 0;
  while( n-i>=8 ){
    sqlite3_uint64 x, y;
    memcpy(&x, a+i, 8);
    memcpy(&y, b+i, 8);
    if( x!=y ) break;
    i += 8;
  }
  if( i>=DOSQL_CPU_COMPARE_BLOCK ) budgetChargeCompared(i);
  for(; i<n; i++){
    if( a[i]!=b[i] ) return a[i]<b[i] ? -1 : 1;
  }
  return 0;
}

/* Past the bytes from z[i] (before z[n]) that are in the class isClass. */
#define SPAN_WHILE(isClass) while( i<n && isClass(z[i]) ) i++

/* The bytes from z, at most n, that a parse of a number may read: as a number
** is written (spaces, a sign, digits, a point and digits, an exponent), then
** spaces. Either parser stops at the first byte past that (a text's zero is
** one), so a long text that is not a number costs little and is charged so. */
static sqlite3_int64 numberSpan(const char *z, sqlite3_int64 n){
  sqlite3_int64 i = 0;
  SPAN_WHILE(sqlite3Isspace);
  if( i<n && (z[i]=='+' || z[i]=='-') ) i++;
  SPAN_WHILE(sqlite3Isdigit);
  if( i<n && z[i]=='.' ) i++;
  SPAN_WHILE(sqlite3Isdigit);
  if( i<n && (z[i]=='e' || z[i]=='E') ){
    i++;
    if( i<n && (z[i]=='+' || z[i]=='-') ) i++;
    SPAN_WHILE(sqlite3Isdigit);
  }
  SPAN_WHILE(sqlite3Isspace);
  return i;
}

/* SQLite's parsers of numbers, as its code calls them (its prototypes declare
** them static): the bytes they may read are charged first. In UTF-16,
** sqlite3Atoi64() reads every byte of its length.
**
** Decimals to doubles, correctly rounded (decimal.h). SQLite 3.52 scales a
** decimal's digits by a power of ten in sqlite3Fp10Convert2(), rounding a tie
** up, and sqlite3AtoF() keeps 18 or 19 digits of a longer text: so a text
** halfway between two doubles read one step off, where every other reader (and
** SQLite before it) rounds to even. JavaScript writes whole doubles past 2^54 so
** ("25014204380734210"): json_extract() or CAST of one gave another double. Both
** take their value from decimal.c: sqlite3AtoF() the whole text's (its answer, a
** number, a prefix of one or none, stays SQLite's), and sqlite3Fp10Convert2(),
** by which printf's "%!.17g" finds the shortest text that reads back, the
** scaling as that reader reads it, so what SQLite writes of a REAL still reads
** back as it. */
static int sqlite3AtoF(const char *z, double *pResult){
  int rc;
  budgetChargeParsed(numberSpan(z, LARGEST_INT64));
  rc = sqlite3AtoFOriginal(z, pResult);
  *pResult = decimalValue(z);
  return rc;
}

static double sqlite3Fp10Convert2(u64 d, int p){
  return decimalScaled(d, p);
}

static int sqlite3Atoi64(const char *zNum, i64 *pNum, int length, u8 enc){
  budgetChargeParsed(enc==SQLITE_UTF8 ? numberSpan(zNum, length) : length);
  return sqlite3Atoi64Original(zNum, pNum, length, enc);
}

/* Units of record comparisons not charged yet: they are charged a batch at a
** time (a call into the budget at each comparison cost speedtest1 2%), so a
** budget is spent at most COMPARE_BATCH_UNITS late (34 us). */
#define COMPARE_BATCH_UNITS 1024
static sqlite3_int64 nCompareUnits = 0;

static void meterRecordCompare(sqlite3_int64 nBytes){
  nCompareUnits += DOSQL_CPU_UNITS_PER_RECORD_COMPARE + nBytes/DOSQL_CPU_RECORD_BYTES_PER_UNIT;
  if( nCompareUnits>=COMPARE_BATCH_UNITS ){
    budgetChargeInStep(nCompareUnits);
    nCompareUnits = 0;
  }
}

/* SQLite's sorter and its index searches, as they ask for the comparison of
** two records: the same comparison, each call charged (meterRecordCompare) by
** the records' bytes. A sort compares N log N times inside one VM step
** (OP_SorterSort), an insert into an index (DISTINCT, ORDER BY ... LIMIT, CREATE
** INDEX) log N times. */
#define METERED_SORTER_COMPARE(NAME, ORIGINAL) \
  static int NAME(SortSubtask *pTask, int *pbKey2Cached, const void *pKey1, int nKey1, \
                  const void *pKey2, int nKey2){ \
    meterRecordCompare((sqlite3_int64)nKey1 + nKey2); \
    return ORIGINAL(pTask, pbKey2Cached, pKey1, nKey1, pKey2, nKey2); \
  }
METERED_SORTER_COMPARE(meteredSorterCompare, vdbeSorterCompare)
METERED_SORTER_COMPARE(meteredSorterCompareText, vdbeSorterCompareText)
METERED_SORTER_COMPARE(meteredSorterCompareInt, vdbeSorterCompareInt)

static SorterCompare vdbeSorterGetCompare(VdbeSorter *p){
  SorterCompare xCompare = vdbeSorterGetCompareOriginal(p);
  if( xCompare==vdbeSorterCompareInt ) return meteredSorterCompareInt;
  if( xCompare==vdbeSorterCompareText ) return meteredSorterCompareText;
  return meteredSorterCompare;
}

#define METERED_RECORD_COMPARE(NAME, ORIGINAL) \
  static int NAME(int nKey1, const void *pKey1, UnpackedRecord *pPKey2){ \
    meterRecordCompare(nKey1); \
    return ORIGINAL(nKey1, pKey1, pPKey2); \
  }
METERED_RECORD_COMPARE(meteredRecordCompare, sqlite3VdbeRecordCompare)
METERED_RECORD_COMPARE(meteredRecordCompareInt, vdbeRecordCompareInt)
METERED_RECORD_COMPARE(meteredRecordCompareString, vdbeRecordCompareString)

static RecordCompare sqlite3VdbeFindCompare(UnpackedRecord *p){
  RecordCompare xCompare = sqlite3VdbeFindCompareOriginal(p);
  if( xCompare==vdbeRecordCompareInt ) return meteredRecordCompareInt;
  if( xCompare==vdbeRecordCompareString ) return meteredRecordCompareString;
  return meteredRecordCompare;
}

/* The most edges of p1 and p2 that a vertical line crosses: the edges active at
** once in geopolyOverlap()'s sweep, which walks them at each of its 2n events.
** Two for a convex polygon, n for a comb whose teeth span it. -1: no memory. */
static int geopolyCmpX(const void *pA, const void *pB){
  double a = *(const double*)pA, b = *(const double*)pB;
  return a<b ? -1 : a>b;
}
static sqlite3_int64 geopolyMostActive(GeoPoly *p1, GeoPoly *p2){
  sqlite3_int64 nEdge = (sqlite3_int64)p1->nVertex + p2->nVertex, nOpen = 0, nMost = 0, i, j = 0;
  double *aStart = sqlite3_malloc64(sizeof(double)*2*(nEdge+1)), *aEnd = aStart + nEdge;
  GeoPoly *ap[2];
  int k;
  if( aStart==0 ) return -1;
  ap[0] = p1;
  ap[1] = p2;
  for(k=0; k<2; k++){
    int v;
    for(v=0; v<ap[k]->nVertex; v++, j++){
      double x0 = GeoX(ap[k], v), x1 = GeoX(ap[k], (v+1) % ap[k]->nVertex);
      aStart[j] = x0<x1 ? x0 : x1;
      aEnd[j] = x0<x1 ? x1 : x0;
    }
  }
  qsort(aStart, (size_t)nEdge, sizeof(double), geopolyCmpX);
  qsort(aEnd, (size_t)nEdge, sizeof(double), geopolyCmpX);
  /* An edge that ends where another starts counts as open with it. */
  for(i=0, j=0; i<nEdge; i++){
    while( j<nEdge && aEnd[j]<aStart[i] ){ j++; nOpen--; }
    if( ++nOpen>nMost ) nMost = nOpen;
  }
  sqlite3_free(aStart);
  return nMost;
}

/* geopolyOverlap(), as geopoly_overlap(), geopoly_within() and the geopoly
** table's constraints call it: its sweep walks the active edges at each event
** (a comb of 32,000 vertices took 10 s in one call), so it is charged a unit
** per DOSQL_CPU_PAIRS_PER_UNIT (event, active edge) pairs first, and fails as
** out of memory (-1) when that spends the budget (the request answers CPU_LIMIT). */
static int geopolyOverlap(GeoPoly *p1, GeoPoly *p2){
  sqlite3_int64 nMost = geopolyMostActive(p1, p2);
  sqlite3_int64 nEvent = 2*((sqlite3_int64)p1->nVertex + p2->nVertex);
  if( nMost<0 || budgetChargeInStep(1 + nEvent*nMost/DOSQL_CPU_PAIRS_PER_UNIT) ) return -1;
  return geopolyOverlapOriginal(p1, p2);
}

/* How a metered function's work grows with its arguments. */
typedef enum MeterCost {
  METER_LINEAR,     /* in the bytes of its arguments and result */
  METER_PRODUCT,    /* in the product of its first two arguments' bytes */
  METER_JSON,       /* linear, but for a first argument SQLite parsed already */
  METER_STATEMENTS  /* in the steps of the statements it runs */
} MeterCost;

typedef struct MeteredName {
  const char *zName;
  MeterCost eCost;
} MeteredName;

/* Every built-in whose one call can touch many bytes: text, blobs, JSON.
** Date and time functions parse their text arguments (a time given as 1 MB of
** digits or spaces was scanned at each call). Functions of fixed-size values
** (abs, round, math) are not metered: their work is bounded by the VM steps
** around them, and a text argument's parse as a number by its own charge
** (sqlite3AtoF above). Every overload of a name is metered; test_hostile.c
** fails on a built-in function that is in neither list. */
static const MeteredName aMeteredName[] = {
  { "instr", METER_PRODUCT }, { "replace", METER_PRODUCT },
  { "like", METER_PRODUCT },  { "glob", METER_PRODUCT },
  { "trim", METER_PRODUCT },  { "ltrim", METER_PRODUCT }, { "rtrim", METER_PRODUCT },
  { "substr", METER_LINEAR }, { "substring", METER_LINEAR },
  { "upper", METER_LINEAR },  { "lower", METER_LINEAR },
  { "hex", METER_LINEAR },    { "unhex", METER_LINEAR },  { "quote", METER_LINEAR },
  { "printf", METER_LINEAR }, { "format", METER_LINEAR }, { "char", METER_LINEAR },
  { "concat", METER_LINEAR }, { "concat_ws", METER_LINEAR },
  { "zeroblob", METER_LINEAR }, { "randomblob", METER_LINEAR },
  { "soundex", METER_LINEAR }, { "unistr", METER_LINEAR }, { "unistr_quote", METER_LINEAR },
  { "length", METER_LINEAR }, { "unicode", METER_LINEAR },
  { "group_concat", METER_LINEAR }, { "string_agg", METER_LINEAR },
  { "strftime", METER_LINEAR }, { "timediff", METER_LINEAR },
  { "date", METER_LINEAR },     { "time", METER_LINEAR },     { "datetime", METER_LINEAR },
  { "julianday", METER_LINEAR }, { "unixepoch", METER_LINEAR },
  { "sqlite_compileoption_used", METER_LINEAR },
  { "json", METER_JSON }, { "jsonb", METER_JSON },
  { "json_array", METER_LINEAR }, { "jsonb_array", METER_LINEAR },
  { "json_object", METER_LINEAR }, { "jsonb_object", METER_LINEAR },
  { "json_extract", METER_JSON }, { "jsonb_extract", METER_JSON },
  { "->", METER_JSON }, { "->>", METER_JSON },
  { "json_set", METER_JSON }, { "jsonb_set", METER_JSON },
  { "json_insert", METER_JSON }, { "jsonb_insert", METER_JSON },
  { "json_array_insert", METER_JSON }, { "jsonb_array_insert", METER_JSON },
  { "json_replace", METER_JSON }, { "jsonb_replace", METER_JSON },
  { "json_remove", METER_JSON }, { "jsonb_remove", METER_JSON },
  { "json_patch", METER_JSON }, { "jsonb_patch", METER_JSON },
  { "json_type", METER_JSON }, { "json_valid", METER_JSON },
  { "json_quote", METER_LINEAR }, { "json_array_length", METER_JSON },
  { "json_error_position", METER_JSON }, { "json_pretty", METER_JSON },
  { "json_group_array", METER_LINEAR }, { "jsonb_group_array", METER_LINEAR },
  { "json_group_object", METER_LINEAR }, { "jsonb_group_object", METER_LINEAR },
  /* The extensions' functions, registered on each connection (dosqlMeterFunctions).
  ** geopoly_overlap() and geopoly_within() are charged for their sweep too
  ** (geopolyOverlap above). rtreecheck() reads the whole R-Tree through statements
  ** of its own. */
  { "geopoly_overlap", METER_LINEAR }, { "geopoly_within", METER_LINEAR },
  { "geopoly_area", METER_LINEAR }, { "geopoly_blob", METER_LINEAR },
  { "geopoly_json", METER_LINEAR }, { "geopoly_svg", METER_LINEAR },
  { "geopoly_contains_point", METER_LINEAR }, { "geopoly_bbox", METER_LINEAR },
  { "geopoly_xform", METER_LINEAR }, { "geopoly_ccw", METER_LINEAR },
  { "geopoly_group_bbox", METER_LINEAR }, { "rtreenode", METER_LINEAR },
  { "rtreecheck", METER_STATEMENTS },
  { "fts5_locale", METER_LINEAR }, { "fts5_insttoken", METER_LINEAR },
};

/* One patched FuncDef: what its slot calls. */
typedef struct Meter {
  void (*xOriginal)(sqlite3_context*, int, sqlite3_value**);
  MeterCost eCost;
} Meter;

#define METER_SLOTS 200
static Meter aMeter[METER_SLOTS];

/* Bytes a value holds as text or blob (a zeroblob's zeros included); 0 for
** numbers and NULL, whose work is constant. */
static sqlite3_int64 meterBytes(const Mem *p){
  sqlite3_int64 n = 0;
  if( p->flags & (MEM_Str|MEM_Blob) ){
    n = p->n;
    if( p->flags & MEM_Zero ) n += p->u.nZero;
  }
  return n;
}

/* The units a call may cost at most, before it runs. A JSON function's first
** argument found in SQLite's cache of parsed JSON (the statement's, which
** several extractions from one document share) is not parsed again, and costs
** what finding it costs (a memcmp(), charged as such). */
static sqlite3_int64 meterBound(sqlite3_context *ctx, MeterCost eCost, int nArg, sqlite3_value **apArg){
  sqlite3_int64 nBytes = 0, nUnits = 1;
  int i = eCost==METER_JSON && nArg>0 && jsonCacheSearch(ctx, apArg[0])!=0 ? 1 : 0;
  for(; i<nArg; i++) nBytes += meterBytes(apArg[i]);
  nUnits += nBytes / DOSQL_CPU_BYTES_PER_UNIT;
  if( eCost==METER_PRODUCT && nArg>=2 ){
    nUnits += meterBytes(apArg[0]) * meterBytes(apArg[1]) / DOSQL_CPU_PAIRS_PER_UNIT;
  }
  if( eCost==METER_STATEMENTS ) nUnits += DOSQL_CPU_UNITS_PER_FILTER;
  return nUnits;
}

/* Fail the call of ctx for want of budget. */
static void meterRefuse(sqlite3_context *ctx){
  sqlite3_result_error(ctx, DOSQL_CPU_SPENT_MESSAGE, -1);
  sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
}

/* Charge pBudget, ctx's request's (0: none), nUnits; refuse the call (its error
** set) when that spends it. */
static int meterRefuses(sqlite3_context *ctx, Budget *pBudget, sqlite3_int64 nUnits){
  if( pBudget==0 || !budgetCharge(pBudget, nUnits) ) return 0;
  meterRefuse(ctx);
  return 1;
}

/* What every slot does: charge, call the built-in, charge its result. */
static void meterCall(sqlite3_context *ctx, int nArg, sqlite3_value **apArg, int iSlot){
  const Meter *m = &aMeter[iSlot];
  Budget *pBudget = budgetOf(sqlite3_context_db_handle(ctx));
  if( m->eCost==METER_STATEMENTS ){
    /* Charged by the call, and by the steps of each statement it runs, which
    ** SQLite counts from zero (budget.h budgetBeginStatementRead). */
    if( !budgetBeginStatementRead(meterBound(ctx, m->eCost, nArg, apArg)) ) m->xOriginal(ctx, nArg, apArg);
    else meterRefuse(ctx);
    budgetEndStatementRead();
    return;
  }
  if( pBudget && meterRefuses(ctx, pBudget, meterBound(ctx, m->eCost, nArg, apArg)) ) return;
  m->xOriginal(ctx, nArg, apArg);
  /* An aggregate's step has no result yet; its final value is not metered
  ** beyond the steps that built it. */
  if( pBudget && ctx->pFunc->xFinalize==0 ){
    sqlite3_int64 nUnits = meterBytes(ctx->pOut) / DOSQL_CPU_BYTES_PER_UNIT;
    if( nUnits>0 ) budgetCharge(pBudget, nUnits);
  }
}

/* The slots: METER_SLOTS functions, each calling meterCall with its index. */
#define METER_SLOT(i) \
  static void meterSlot##i(sqlite3_context *c, int n, sqlite3_value **a){ meterCall(c, n, a, i); }
#define METER_DECADE(X, d) X(d##0) X(d##1) X(d##2) X(d##3) X(d##4) \
                           X(d##5) X(d##6) X(d##7) X(d##8) X(d##9)
#define METER_ALL_SLOTS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) \
  METER_DECADE(X, 1) METER_DECADE(X, 2) METER_DECADE(X, 3) METER_DECADE(X, 4) \
  METER_DECADE(X, 5) METER_DECADE(X, 6) METER_DECADE(X, 7) METER_DECADE(X, 8) \
  METER_DECADE(X, 9) METER_DECADE(X, 10) METER_DECADE(X, 11) METER_DECADE(X, 12) \
  METER_DECADE(X, 13) METER_DECADE(X, 14) METER_DECADE(X, 15) METER_DECADE(X, 16) \
  METER_DECADE(X, 17) METER_DECADE(X, 18) METER_DECADE(X, 19)
METER_ALL_SLOTS(METER_SLOT)
#define METER_SLOT_ENTRY(i) meterSlot##i,
static void (*const aMeterSlot[METER_SLOTS])(sqlite3_context*, int, sqlite3_value**) = {
  METER_ALL_SLOTS(METER_SLOT_ENTRY)
};

/*
** Metering window aggregates. Over a sliding frame SQLite calls an aggregate's
** xInverse as each row leaves the frame and its xValue for each row. The
** metered aggregates that accumulate text (group_concat, string_agg, the JSON
** group functions) move all they hold in each xInverse and copy it in each
** xValue: group_concat() of 64-byte values OVER (ROWS 999 PRECEDING) ran 8 s
** for 1,000,000 rows, charged by its steps. xInverse is charged before the
** call by its arguments and by what the aggregate holds, xValue after it by
** its result, a unit per DOSQL_CPU_COPY_BYTES_PER_UNIT bytes moved or copied.
*/
typedef struct WindowMeter {
  void (*xInverse)(sqlite3_context*, int, sqlite3_value**);
  void (*xValue)(sqlite3_context*);
  sqlite3_int64 (*xHeld)(sqlite3_context*);   /* bytes the aggregate holds; 0: unknown */
} WindowMeter;

#define WINDOW_METER_SLOTS 20
static WindowMeter aWindowMeter[WINDOW_METER_SLOTS];

static sqlite3_int64 groupConcatHeld(sqlite3_context *ctx){
  GroupConcatCtx *p = (GroupConcatCtx*)sqlite3_aggregate_context(ctx, 0);
  return p ? p->str.nChar : 0;
}

static sqlite3_int64 jsonGroupHeld(sqlite3_context *ctx){
  JsonString *p = (JsonString*)sqlite3_aggregate_context(ctx, 0);
  return p ? (sqlite3_int64)p->nUsed : 0;
}

static void meterInverse(sqlite3_context *ctx, int nArg, sqlite3_value **apArg, int iSlot){
  const WindowMeter *m = &aWindowMeter[iSlot];
  Budget *pBudget = budgetOf(sqlite3_context_db_handle(ctx));
  sqlite3_int64 nHeld = pBudget && m->xHeld ? m->xHeld(ctx) : 0;
  if( pBudget && meterRefuses(ctx, pBudget, meterBound(ctx, METER_LINEAR, nArg, apArg) + nHeld/DOSQL_CPU_COPY_BYTES_PER_UNIT) ) return;
  m->xInverse(ctx, nArg, apArg);
}

static void meterValue(sqlite3_context *ctx, int iSlot){
  Budget *pBudget = budgetOf(sqlite3_context_db_handle(ctx));
  aWindowMeter[iSlot].xValue(ctx);
  if( pBudget ) budgetCharge(pBudget, meterBytes(ctx->pOut)/DOSQL_CPU_COPY_BYTES_PER_UNIT);
}

#define WINDOW_SLOT(i) \
  static void windowInverseSlot##i(sqlite3_context *c, int n, sqlite3_value **a){ meterInverse(c, n, a, i); } \
  static void windowValueSlot##i(sqlite3_context *c){ meterValue(c, i); }
#define WINDOW_ALL_SLOTS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) METER_DECADE(X, 1)
WINDOW_ALL_SLOTS(WINDOW_SLOT)
#define WINDOW_INVERSE_ENTRY(i) windowInverseSlot##i,
#define WINDOW_VALUE_ENTRY(i) windowValueSlot##i,
static void (*const aWindowInverseSlot[WINDOW_METER_SLOTS])(sqlite3_context*, int, sqlite3_value**) = {
  WINDOW_ALL_SLOTS(WINDOW_INVERSE_ENTRY)
};
static void (*const aWindowValueSlot[WINDOW_METER_SLOTS])(sqlite3_context*) = {
  WINDOW_ALL_SLOTS(WINDOW_VALUE_ENTRY)
};

static const MeteredName *meterFind(const char *zName){
  unsigned i;
  for(i=0; i<sizeof(aMeteredName)/sizeof(aMeteredName[0]); i++){
    if( sqlite3StrICmp(aMeteredName[i].zName, zName)==0 ) return &aMeteredName[i];
  }
  return 0;
}

int dosqlIsMeteredFunction(const char *zName){
  return meterFind(zName)!=0;
}

/* Slots used in aMeter. */
static int nMeterSlots = 0;

/* The slot that meters xOriginal, or -1. */
static int meterSlotOf(void (*xOriginal)(sqlite3_context*, int, sqlite3_value**)){
  int i;
  for(i=0; i<nMeterSlots; i++){
    if( aMeter[i].xOriginal==xOriginal ) return i;
  }
  return -1;
}

/* Whether x is a slot: the function it was is metered already. */
static int meterIsSlot(void (*x)(sqlite3_context*, int, sqlite3_value**)){
  int i;
  for(i=0; i<nMeterSlots; i++){
    if( aMeterSlot[i]==x ) return 1;
  }
  return 0;
}

/* Have p's step (or only function) charged as eCost says: SQLITE_OK, or
** SQLITE_INTERNAL when the slots ran out. Overloads and connections that
** share a C function share its slot. */
static int meterFuncDef(FuncDef *p, MeterCost eCost){
  int i = meterSlotOf(p->xSFunc);
  if( i<0 ){
    if( nMeterSlots==METER_SLOTS ) return SQLITE_INTERNAL;
    i = nMeterSlots++;
    aMeter[i].xOriginal = p->xSFunc;
    aMeter[i].eCost = eCost;
  }
  p->xSFunc = aMeterSlot[i];
  return SQLITE_OK;
}

int dosqlMeterFunctions(sqlite3 *db){
  HashElem *e;
  for(e=sqliteHashFirst(&db->aFunc); e; e=sqliteHashNext(e)){
    FuncDef *p;
    for(p=(FuncDef*)sqliteHashData(e); p; p=p->pNext){
      const MeteredName *pMetered = meterFind(p->zName);
      if( pMetered==0 || p->xSFunc==0 || meterIsSlot(p->xSFunc) ) continue;
      if( meterFuncDef(p, pMetered->eCost)!=SQLITE_OK ) return SQLITE_INTERNAL;
    }
  }
  return SQLITE_OK;
}

int dosqlMeterBuiltins(void){
  static int bDone = 0;
  int h, nWindow = 0;
  if( bDone ) return SQLITE_OK;    /* the FuncDefs are static: patched once for good */
  bDone = 1;
  for(h=0; h<SQLITE_FUNC_HASH_SZ; h++){
    FuncDef *pName;
    for(pName=sqlite3BuiltinFunctions.a[h]; pName; pName=pName->u.pHash){
      const MeteredName *pMetered = meterFind(pName->zName);
      FuncDef *p;
      if( pMetered==0 ) continue;
      for(p=pName; p; p=p->pNext){
        if( p->xSFunc==0 ) continue;
        if( meterFuncDef(p, pMetered->eCost)!=SQLITE_OK ) return SQLITE_INTERNAL;
        if( p->xInverse==0 || p->xValue==0 ) continue;
        if( nWindow==WINDOW_METER_SLOTS ) return SQLITE_INTERNAL;
        aWindowMeter[nWindow].xInverse = p->xInverse;
        aWindowMeter[nWindow].xValue = p->xValue;
        aWindowMeter[nWindow].xHeld = p->xInverse==groupConcatInverse ? groupConcatHeld
                                    : p->xInverse==jsonGroupInverse ? jsonGroupHeld : 0;
        p->xInverse = aWindowInverseSlot[nWindow];
        p->xValue = aWindowValueSlot[nWindow++];
      }
    }
  }
  return SQLITE_OK;
}

/*
** Metering virtual tables' reads. A virtual table's xFilter or xNext may do
** much work inside one VM step, where the progress handler never looks (FTS5
** matches a phrase against every doclist it reads there, and checks no
** interrupt). Each module's read methods are wrapped to mark that work, which
** budget.c then charges by what it allocates and, once the request's budget
** is spent, refuses to allocate for, so the method fails where it is. Only
** reads: a write that failed for memory could roll back more than itself.
** A pragma's table-valued function compiles a statement at each search and
** runs it there and in xNext, allocating little (SQLite's lookaside serves
** it): those reads are charged by the statement (budgetBeginStatementRead).
*/
typedef struct MeteredModule {
  sqlite3_module m;               /* what SQLite calls: first, so &m is the whole */
  const sqlite3_module *pOrig;    /* the module as registered */
  int bFts5;                      /* FTS5's: its ranking is charged (fts5RowCharged) */
  int bPragma;                    /* the pragmas' (every pragma_* has this one) */
} MeteredModule;

/* Every module SQLite builds in is a static struct: one copy each, for good. */
#define METERED_MODULES 32
static MeteredModule aMeteredModule[METERED_MODULES];
static int nMeteredModule = 0;

/* Metered reads running now (one may run SQL that reads another). */
static int nReading = 0;

static const MeteredModule *meteredOf(const sqlite3_vtab *pVtab){
  return (const MeteredModule*)pVtab->pModule;
}

static const sqlite3_module *meteredOriginal(const sqlite3_vtab *pVtab){
  return meteredOf(pVtab)->pOrig;
}

static int meteredFilter(sqlite3_vtab_cursor *pCur, int idxNum, const char *idxStr,
                         int argc, sqlite3_value **argv){
  const MeteredModule *pMod = meteredOf(pCur->pVtab);
  int rc = SQLITE_INTERRUPT;
  nReading++;
  if( !pMod->bPragma || !budgetBeginStatementRead(DOSQL_CPU_UNITS_PER_FILTER) ){
    rc = pMod->pOrig->xFilter(pCur, idxNum, idxStr, argc, argv);
  }
  if( pMod->bPragma ) budgetEndStatementRead();
  nReading--;
  return rc;
}

static int meteredNext(sqlite3_vtab_cursor *pCur){
  const MeteredModule *pMod = meteredOf(pCur->pVtab);
  int rc = SQLITE_INTERRUPT;
  nReading++;
  if( !pMod->bPragma || !budgetBeginStatementRead(0) ) rc = pMod->pOrig->xNext(pCur);
  if( pMod->bPragma ) budgetEndStatementRead();
  nReading--;
  return rc;
}

/*
** FTS5 ranks and highlights a row from the instances of its query's phrases in
** it, which it lists by scanning every phrase for each instance: a call of
** bm25(), highlight() or snippet(), or a read of the rank column, does
** O(phrases x instances) work allocating nothing (a query of 2,000 OR-ed terms
** ranked 16,000 documents for 77 s). Charged before the call: a unit per
** DOSQL_CPU_PAIRS_PER_UNIT such pairs, the list made (once a row) to count them.
** highlight() and snippet() also tokenize the row's text at each call (1,800
** snippets of 600 KB documents took 16.7 s): they are charged a unit per
** DOSQL_CPU_TOKENIZE_BYTES_PER_UNIT bytes of it too, of column iCol (-1: every
** column). highlight() builds its
** answer by printing it again at each append, three an instance (two marks and
** the text before), the answer growing to about twice the text (40 rows of
** 15,000 instances in 30 KB took 11 s): a unit per DOSQL_CPU_COPY_BYTES_PER_UNIT
** bytes of four times the text, an instance. snippet() scores each instance
** against every other (one snippet of 80,000 instances took 71 s): a unit per
** DOSQL_CPU_SNIPPET_PAIRS_PER_UNIT pairs of instances.
*/
typedef enum Fts5Work { FTS5_RANKS, FTS5_HIGHLIGHTS, FTS5_SNIPPETS } Fts5Work;

static int fts5RowCharged(sqlite3_context *ctx, Fts5Cursor *pCsr, Fts5Work eWork, int iCol){
  Budget *pBudget = budgetOf(sqlite3_context_db_handle(ctx));
  int nInst = 0;
  sqlite3_int64 nUnits = 1;
  if( pBudget==0 ) return 1;
  if( pCsr && pCsr->pExpr && pCsr->ePlan!=0 && pCsr->ePlan!=FTS5_PLAN_SPECIAL
   && fts5ApiInstCount((Fts5Context*)pCsr, &nInst)==SQLITE_OK ){
    nUnits += (sqlite3_int64)sqlite3Fts5ExprPhraseCount(pCsr->pExpr) * nInst / DOSQL_CPU_PAIRS_PER_UNIT;
  }
  if( pCsr && eWork!=FTS5_RANKS ){
    sqlite3_int64 nText = 0;
    int i;
    for(i=0; i<((Fts5Table*)pCsr->base.pVtab)->pConfig->nCol; i++){
      const char *z;
      int n = 0;
      if( (iCol<0 || i==iCol) && fts5ApiColumnText((Fts5Context*)pCsr, i, &z, &n)==SQLITE_OK ) nText += n;
    }
    nUnits += nText / DOSQL_CPU_TOKENIZE_BYTES_PER_UNIT;
    if( eWork==FTS5_HIGHLIGHTS ) nUnits += 4 * (sqlite3_int64)nInst * nText / DOSQL_CPU_COPY_BYTES_PER_UNIT;
    if( eWork==FTS5_SNIPPETS ) nUnits += (sqlite3_int64)nInst * nInst / DOSQL_CPU_SNIPPET_PAIRS_PER_UNIT;
  }
  return !meterRefuses(ctx, pBudget, nUnits);
}

/* FTS5's auxiliary functions, as xFindFunction gives them, charged first. */
static void meteredFts5Function(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Fts5Auxiliary *pAux = (Fts5Auxiliary*)sqlite3_user_data(ctx);
  Fts5Cursor *pCsr = argc>0 ? fts5CursorFromCsrid(pAux->pGlobal, sqlite3_value_int64(argv[0])) : 0;
  Fts5Work eWork = sqlite3_stricmp(pAux->zFunc, "highlight")==0 ? FTS5_HIGHLIGHTS
                 : sqlite3_stricmp(pAux->zFunc, "snippet")==0 ? FTS5_SNIPPETS : FTS5_RANKS;
  /* highlight(t, iCol, ...) and snippet(t, iCol, ...) read column iCol
  ** (snippet's -1: every column); after the cursor's id, argv[1] is iCol. */
  int iCol = argc>1 && sqlite3_value_type(argv[1])==SQLITE_INTEGER ? sqlite3_value_int(argv[1]) : -1;
  if( fts5RowCharged(ctx, pCsr, eWork, iCol) ) fts5ApiCallback(ctx, argc, argv);
}

static int meteredFindFunction(sqlite3_vtab *pVtab, int nArg, const char *zName,
                               void (**pxFunc)(sqlite3_context*, int, sqlite3_value**), void **ppArg){
  int rc = meteredOriginal(pVtab)->xFindFunction(pVtab, nArg, zName, pxFunc, ppArg);
  int iSlot = rc ? meterSlotOf(*pxFunc) : -1;
  if( rc && *pxFunc==fts5ApiCallback ) *pxFunc = meteredFts5Function;
  /* A module's overload of a metered function (geopoly's geopoly_overlap on its
  ** shape column) is metered as the function is. */
  if( iSlot>=0 ) *pxFunc = aMeterSlot[iSlot];
  return rc;
}

static int meteredColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx, int i){
  const MeteredModule *pMod = meteredOf(pCur->pVtab);
  int rc;
  /* FTS5's rank column (after its columns and the hidden one named as the table). */
  if( pMod->bFts5 && i==((Fts5Table*)pCur->pVtab)->pConfig->nCol+1
   && !fts5RowCharged(ctx, (Fts5Cursor*)pCur, FTS5_RANKS, -1) ){
    return SQLITE_OK;
  }
  nReading++;
  rc = pMod->pOrig->xColumn(pCur, ctx, i);
  nReading--;
  return rc;
}

/* The metered copy of pOrig (bFts5: FTS5's module), made on first use; 0 when the
** copies ran out. */
static const sqlite3_module *meteredModule(const sqlite3_module *pOrig, int bFts5){
  MeteredModule *p;
  int i;
  for(i=0; i<nMeteredModule; i++){
    if( aMeteredModule[i].pOrig==pOrig || &aMeteredModule[i].m==pOrig ) return &aMeteredModule[i].m;
  }
  if( nMeteredModule==METERED_MODULES ) return 0;
  p = &aMeteredModule[nMeteredModule++];
  p->m = *pOrig;
  p->pOrig = pOrig;
  p->bFts5 = bFts5;
  p->bPragma = pOrig==&pragmaVtabModule;
  if( pOrig->xFilter ) p->m.xFilter = meteredFilter;
  if( pOrig->xNext ) p->m.xNext = meteredNext;
  if( pOrig->xColumn ) p->m.xColumn = meteredColumn;
  if( pOrig->xFindFunction ) p->m.xFindFunction = meteredFindFunction;
  return &p->m;
}

/* db and how many modules it had when dosqlMeterModules() last walked them:
** dosqlMeterNewModules() walks again only when that changed. */
static sqlite3 *pMeteredDb = 0;
static int nMeteredDbModules = -1;

int dosqlMeterModules(sqlite3 *db){
  HashElem *e;
  for(e=sqliteHashFirst(&db->aModule); e; e=sqliteHashNext(e)){
    Module *pMod = (Module*)sqliteHashData(e);
    const sqlite3_module *pMetered;
    VTable *pVTable;
    if( pMod->pModule==0 ) continue;
    pMetered = meteredModule(pMod->pModule, sqlite3_stricmp(pMod->zName, "fts5")==0);
    if( pMetered==0 ) return SQLITE_INTERNAL;
    pMod->pModule = pMetered;
    /* A module registered while SQL ran (a pragma's) has its table connected
    ** already, with the module as registered. */
    for(pVTable=pMod->pEpoTab ? pMod->pEpoTab->u.vtab.p : 0; pVTable; pVTable=pVTable->pNext){
      if( pVTable->pVtab ) pVTable->pVtab->pModule = pMetered;
    }
  }
  pMeteredDb = db;
  nMeteredDbModules = sqliteHashCount(&db->aModule);
  return SQLITE_OK;
}

int dosqlMeterNewModules(sqlite3 *db){
  if( db==pMeteredDb && sqliteHashCount(&db->aModule)==nMeteredDbModules ) return SQLITE_OK;
  return dosqlMeterModules(db);
}

/*
** Metering collations. A comparison under NOCASE or RTRIM reads the bytes of
** both strings inside whatever VM step compares them, and a sort of N rows
** compares about N log N times inside one step (a table of 24 MB sorted
** COLLATE NOCASE took 1.5 s, charged by its rows). Each comparison is charged
** a unit and one per DOSQL_CPU_BYTES_PER_UNIT bytes it may read: NOCASE reads
** the shorter string's length of both, RTRIM first walks back over the
** trailing spaces of each. The budget is its CollSeq's pUser, unused by
** SQLite's own collations: a sort calls it millions of times. One that spends
** the budget interrupts the statement, which stops at its next step: the
** comparison itself cannot fail.
*/
static void meterComparison(void *pBudget, sqlite3_int64 nBytes){
  Budget *p = (Budget*)pBudget;
  /* Interrupted once, as the budget is spent: not the rollback that follows. */
  if( !p->bSpent && budgetCharge(p, 1 + nBytes/DOSQL_CPU_BYTES_PER_UNIT) ) sqlite3_interrupt(p->db);
}

static int meteredNocase(void *pBudget, int n1, const void *p1, int n2, const void *p2){
  meterComparison(pBudget, 2*(sqlite3_int64)(n1<n2 ? n1 : n2));
  return nocaseCollatingFunc(0, n1, p1, n2, p2);
}

static int meteredRtrim(void *pBudget, int n1, const void *p1, int n2, const void *p2){
  meterComparison(pBudget, (sqlite3_int64)n1 + n2);
  return rtrimCollFunc(0, n1, p1, n2, p2);
}

int dosqlMeterCollations(sqlite3 *db, Budget *pBudget){
  CollSeq *pNocase = sqlite3FindCollSeq(db, SQLITE_UTF8, "NOCASE", 0);
  CollSeq *pRtrim = sqlite3FindCollSeq(db, SQLITE_UTF8, "RTRIM", 0);
  if( pNocase==0 || pRtrim==0 ) return SQLITE_INTERNAL;
  pNocase->xCmp = meteredNocase;
  pNocase->pUser = pBudget;
  pRtrim->xCmp = meteredRtrim;
  pRtrim->pUser = pBudget;
  return SQLITE_OK;
}

void dosqlLimitFlattening(sqlite3 *db, int nMaxCursors){
  if( db->pParse && db->pParse->nTab>nMaxCursors ) db->dbOptFlags |= SQLITE_QueryFlattener;
}

void dosqlAllowFlattening(sqlite3 *db){
  db->dbOptFlags &= ~(u32)SQLITE_QueryFlattener;
}

int dosqlMeteredWork(sqlite3 *db){
  if( nReading>0 ) return DOSQL_WORK_READING;
  if( db->pParse ) return DOSQL_WORK_PREPARING;
  return DOSQL_WORK_OTHER;
}

int dosqlStmtCountsChanges(sqlite3_stmt *pStmt){
  return pStmt && ((Vdbe*)pStmt)->changeCntOn;
}

int dosqlStmtSetsLastRowid(sqlite3_stmt *pStmt){
  const Vdbe *v = (const Vdbe*)pStmt;
  int i;
  for(i=0; v && i<v->nOp; i++){
    const VdbeOp *pOp = &v->aOp[i];
    if( pOp->opcode==OP_Insert && (pOp->p5 & OPFLAG_LASTROWID) ) return 1;
    if( pOp->opcode==OP_VUpdate && pOp->p1 ) return 1;
  }
  return 0;
}

int dosqlStmtMayUpdateInstead(sqlite3_stmt *pStmt){
  const Vdbe *v = (const Vdbe*)pStmt;
  int i;
  for(i=0; v && i<v->nOp; i++){
    if( v->aOp[i].opcode==OP_Insert && (v->aOp[i].p5 & OPFLAG_ISUPDATE) ) return 1;
  }
  return 0;
}

int dosqlIsShadowTable(sqlite3 *db, const char *zDb, const char *zTable){
  Table *pOwner;
  const char *zTail;
  char *zOwner;
  /* The module of a virtual table of the same schema says. Not the table's
  ** TF_Shadow: SQLite sets it from sqlite3ShadowTableName(), which looks in
  ** every schema, so a TEMP virtual table would mark a table of main. */
  zTail = strrchr(zTable, '_');
  if( zTail==0 ) return 0;
  zOwner = sqlite3DbStrNDup(db, zTable, (int)(zTail-zTable));
  pOwner = zOwner ? sqlite3FindTable(db, zOwner, zDb) : 0;
  sqlite3DbFree(db, zOwner);
  return pOwner!=0 && sqlite3IsShadowTableOf(db, pOwner, zTable);
}

int dosqlTableHoldsRows(sqlite3 *db, const char *zDb, const char *zTable){
  Table *pTab = sqlite3FindTable(db, zTable, zDb);
  Module *pMod;
  if( pTab==0 || !IsVirtual(pTab) ) return 1;
  pMod = (Module*)sqlite3HashFind(&db->aModule, pTab->u.vtab.azArg[0]);
  return pMod!=0 && pMod->pModule->iVersion>=3 && pMod->pModule->xShadowName!=0;
}

void dosqlSaveChangeCounts(sqlite3 *db, DosqlChangeCounts *p){
  p->nChange = db->nChange;
  p->nTotalChange = db->nTotalChange;
  p->iLastRowid = db->lastRowid;
}

void dosqlRestoreChangeCounts(sqlite3 *db, const DosqlChangeCounts *p){
  db->nChange = p->nChange;
  db->nTotalChange = p->nTotalChange;
  db->lastRowid = p->iLastRowid;
}

/* The flags of DosqlSettings. SQLite clears DeferFKs at a commit, but a
** PRAGMA defer_foreign_keys alone in autocommit commits nothing: it would hold
** for the next request's transaction. */
#define SETTING_FLAGS (SQLITE_RecTriggers|SQLITE_ReverseOrder|SQLITE_AutoIndex|SQLITE_CellSizeCk|SQLITE_DeferFKs)

void dosqlSaveSettings(sqlite3 *db, DosqlSettings *p){
  p->flags = db->flags & SETTING_FLAGS;
  p->nAnalysisLimit = db->nAnalysisLimit;
  p->iSecureDelete = sqlite3BtreeSecureDelete(db->aDb[0].pBt, -1);
  p->mxPage = sqlite3BtreeMaxPageCount(db->aDb[0].pBt, 0);
}

void dosqlRestoreSettings(sqlite3 *db, const DosqlSettings *p){
  int i;
  if( (db->flags & SETTING_FLAGS)!=p->flags ){
    db->flags = (db->flags & ~(u64)SETTING_FLAGS) | p->flags;
    sqlite3ExpirePreparedStatements(db, 1);
  }
  db->nAnalysisLimit = p->nAnalysisLimit;
  for(i=0; i<db->nDb; i++){
    Btree *pBt = db->aDb[i].pBt;
    if( pBt==0 ) continue;
    if( sqlite3BtreeSecureDelete(pBt, -1)!=p->iSecureDelete ) sqlite3BtreeSecureDelete(pBt, p->iSecureDelete);
    if( sqlite3BtreeMaxPageCount(pBt, 0)!=p->mxPage ) sqlite3BtreeMaxPageCount(pBt, p->mxPage);
  }
}

/* The next token of *pz that is neither a blank nor a comment (its type, or
** 0 at the end); *pz moves past it, *pn is its length. */
static int nextToken(const unsigned char **pz, int *pn){
  int eType = TK_SPACE;
  while( **pz && (eType==TK_SPACE || eType==TK_COMMENT) ){
    *pn = (int)sqlite3GetToken(*pz, &eType);
    *pz += *pn;
  }
  return eType==TK_SPACE || eType==TK_COMMENT ? 0 : eType;
}

int dosqlIsReadOnlyBegin(const char *zSql){
  const unsigned char *z = (const unsigned char*)zSql;
  int n = 0, eType;
  if( nextToken(&z, &n)!=TK_BEGIN ) return 0;
  eType = nextToken(&z, &n);
  if( eType==TK_DEFERRED || eType==TK_IMMEDIATE || eType==TK_EXCLUSIVE ) eType = nextToken(&z, &n);
  if( eType!=TK_TRANSACTION ) return 0;
  /* A bare word: "READONLY" quoted is a transaction's name, as in libSQL. */
  if( nextToken(&z, &n)!=TK_ID || n!=8 || sqlite3StrNICmp((const char*)z - n, "readonly", 8)!=0 ) return 0;
  eType = nextToken(&z, &n);
  return eType==0 || eType==TK_SEMI;
}

const char *dosqlTransactionEnd(const char *zSql){
  const unsigned char *z = (const unsigned char*)zSql;
  int n = 0, eType = nextToken(&z, &n);
  const char *zTx = eType==TK_COMMIT || eType==TK_END ? "commit" : eType==TK_ROLLBACK ? "rollback" : 0;
  if( zTx==0 ) return 0;
  eType = nextToken(&z, &n);
  if( eType==TK_TRANSACTION ){
    eType = nextToken(&z, &n);
    if( eType!=0 && eType!=TK_SEMI && eType!=TK_TO ) eType = nextToken(&z, &n);   /* its name */
  }
  while( eType==TK_SEMI ) eType = nextToken(&z, &n);
  return eType==0 ? zTx : 0;   /* ROLLBACK TO is a savepoint's */
}

int dosqlPragmaBoolean(const char *z){
  return sqlite3GetBoolean(z, 0)!=0;
}

int dosqlSavepointIsNewer(sqlite3 *db, const char *zName, const char *zOlder){
  const Savepoint *p;
  for(p=db->pSavepoint; p; p=p->pNext){     /* newest first */
    if( sqlite3StrICmp(p->zName, zName)==0 ) return 1;
    if( sqlite3StrICmp(p->zName, zOlder)==0 ) return 0;
  }
  return 1;   /* neither open: SQLite answers "no such savepoint" */
}

int dosqlPreparingExplain(sqlite3 *db){
  const Parse *pParse = db->pParse;
  if( pParse==0 ) return 0;
  /* A statement prepared again keeps its EXPLAIN in its program, not the parse. */
  if( pParse->pReprepare ) return sqlite3_stmt_isexplain((sqlite3_stmt*)pParse->pReprepare)!=0;
  return pParse->explain!=0;
}

int dosqlIsVacuumInto(sqlite3_stmt *pStmt){
  const Vdbe *v = (const Vdbe*)pStmt;
  int i;
  for(i=0; i<v->nOp; i++){
    if( v->aOp[i].opcode==OP_Vacuum && v->aOp[i].p2!=0 ) return 1;   /* p2: INTO's register */
  }
  return 0;
}

int dosqlSchemaIsUnused(sqlite3 *db, int iDb){
  return iDb>=0 && iDb<db->nDb && db->aDb[iDb].pBt==0;
}

sqlite3_int64 dosqlSchemaStamp(sqlite3 *db){
  const Schema *pSchema = db->aDb[0].pSchema;
  /* schema_version alone repeats: a rollback moves it back, and the next
  ** change moves it to a number an undone schema had. A rollback of a schema
  ** change clears the parsed schema (sqlite3ResetAllSchemasOfConnection), and
  ** clearing a loaded one counts a generation (31 bits of it here, so that
  ** the stamp is never negative). */
  return (sqlite3_int64)((sqlite3_uint64)((u32)pSchema->iGeneration & 0x7fffffff)<<32
                         | (u32)pSchema->schema_cookie);
}

/* Where column iIdx of p's table is among the fields of the row the hook
** reports, or -1 where there is none (a virtual generated column). */
static int preupdateField(const PreUpdate *p, int iIdx){
  int iStore = (p->pTab->tabFlags & TF_HasVirtual) ? sqlite3TableColumnToStorage(p->pTab, iIdx) : iIdx;
  return iStore>=0 && iStore<p->pCsr->nField ? iStore : -1;
}

/* Unpack the old row's record where its page holds it, unless it is unpacked
** already: the hook runs before the change, and nothing moves the page until
** it returns. A record that goes on to overflow pages (or a corrupt one) is
** left to sqlite3_preupdate_old(), which copies it. */
static int preupdateUnpackOld(PreUpdate *p){
  BtCursor *pCursor = p->pCsr->uc.pCursor;
  u32 nRec, nLocal = 0;
  const void *aRec;
  if( p->pUnpacked ) return SQLITE_OK;
  nRec = sqlite3BtreePayloadSize(pCursor);
  aRec = sqlite3BtreePayloadFetch(pCursor, &nLocal);
  if( nLocal<nRec ) return SQLITE_OK;
  p->pUnpacked = vdbeUnpackRecord(p->pKeyinfo, (int)nRec, aRec);
  return p->pUnpacked ? SQLITE_OK : SQLITE_NOMEM;
}

/* Column iIdx where dosqlPreupdateRow() does not read it in place: what
** sqlite3_preupdate_old() or _new() gives, but an UPDATE's or DELETE's
** rowid (an INTEGER PRIMARY KEY), which is the row's key: for the new one,
** SQLite would allocate copies of the whole row. */
static int preupdateValue(sqlite3 *db, int bOld, int iIdx, sqlite3_value **ppValue){
  static Mem aRowid[2];   /* new, old: both rows are read before either is used */
  PreUpdate *p = db->pPreUpdate;
  if( p && p->op!=SQLITE_INSERT && (bOld || p->op==SQLITE_UPDATE)
   && iIdx>=0 && iIdx<p->pTab->nCol && iIdx==p->pTab->iPKey ){
    sqlite3VdbeMemSetInt64(&aRowid[bOld], bOld ? p->iKey1 : p->iKey2);
    *ppValue = &aRowid[bOld];
    return SQLITE_OK;
  }
  return bOld ? sqlite3_preupdate_old(db, iIdx, ppValue) : sqlite3_preupdate_new(db, iIdx, ppValue);
}

/* f as the value pValue (0: none) holds it. */
static void fieldOf(DosqlField *f, sqlite3_value *pValue){
  const Mem *pMem = (const Mem*)pValue;
  f->pValue = pValue;
  /* A row's most values, read without a call each (none is inlined at -Oz). */
  switch( pMem ? pMem->flags & (MEM_AffMask|MEM_Zero) : MEM_Null ){
    case MEM_Null: f->eType = SQLITE_NULL; return;
    case MEM_Int:  f->eType = SQLITE_INTEGER; f->u.i = pMem->u.i; return;
    case MEM_Str:  f->eType = SQLITE_TEXT; f->n = pMem->n; f->u.z = pMem->n ? pMem->z : 0; return;
  }
  f->eType = sqlite3_value_type(pValue);
  switch( f->eType ){
    case SQLITE_INTEGER: f->u.i = sqlite3VdbeIntValue(pValue); break;
    case SQLITE_FLOAT:   f->u.r = sqlite3VdbeRealValue(pValue); break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:    f->u.z = dosqlValueBytes(pValue, &f->n); break;
  }
}

int dosqlPreupdateRow(sqlite3 *db, int bOld, DosqlField *aField, int nField){
  PreUpdate *p = db->pPreUpdate;
  Mem *aMem = 0;   /* the row's fields, where they are read in place */
  int nMem = 0, i, rc = SQLITE_OK;
  /* In place: an UPDATE's new values are its registers; an UPDATE's or
  ** DELETE's old values the record on its page. Not a WITHOUT ROWID table's,
  ** which SQLite gives in its key's order. */
  if( p && p->pPk==0 && !bOld && p->op==SQLITE_UPDATE ){
    aMem = &p->v->aMem[p->iNewReg+1];
    nMem = p->pCsr->nField;
  }else if( p && p->pPk==0 && bOld && p->op!=SQLITE_INSERT ){
    rc = preupdateUnpackOld(p);
    if( p->pUnpacked ){
      aMem = p->pUnpacked->aMem;
      nMem = p->pUnpacked->nField;
    }
  }
  for(i=0; rc==SQLITE_OK && i<nField; i++){
    sqlite3_value *pValue = 0;
    int iStore = aMem && i<p->pTab->nCol && i!=p->pTab->iPKey ? preupdateField(p, i) : -1;
    /* Not in place: the rowid (the row's key); a column added after the record was written
    ** (its default) and a REAL column's integer, which SQLite converts; a
    ** zeroblob in a register. */
    if( iStore>=0 && iStore<nMem
     && (bOld ? p->pTab->aCol[i].affinity!=SQLITE_AFF_REAL : (aMem[iStore].flags & MEM_Zero)==0) ){
      pValue = &aMem[iStore];
    }else{
      rc = preupdateValue(db, bOld, i, &pValue);
      if( rc==SQLITE_RANGE ){      /* a virtual generated column: no value */
        pValue = 0;
        rc = SQLITE_OK;
      }
    }
    fieldOf(&aField[i], pValue);
  }
  return rc;
}

char *dosqlStrReserve(sqlite3_str *p, int n){
  if( p->accError ) return 0;
  if( p->nChar+(i64)n >= p->nAlloc && sqlite3StrAccumEnlarge(p, n)<n ) return 0;
  return &p->zText[p->nChar];
}

void dosqlStrAdvance(sqlite3_str *p, int n){
  assert( n>=0 && p->nChar+(i64)n < p->nAlloc );
  p->nChar += n;
}

int dosqlStrEmpty(sqlite3_str *p, int nMax){
  if( p->accError || p->nAlloc>(u32)nMax ) return 0;
  p->nChar = 0;
  return 1;
}

const void *dosqlValueBytes(sqlite3_value *pVal, int *pn){
  Mem *p = (Mem*)pVal;
  if( (p->flags & (MEM_Str|MEM_Blob))==0 || (p->flags & MEM_Zero) ){
    *pn = sqlite3_value_bytes(pVal);
    return sqlite3_value_blob(pVal);
  }
  *pn = p->n;
  return p->n ? p->z : 0;
}
