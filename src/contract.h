/*
** contract.h — what the host must know of the engine, published by the module
** (dosql_contract, api.h) rather than copied into JS: the response layout and
** call flags, limits, the transaction header, the value tags, every route and
** every error code with its HTTP status. SQLite's ext/wasm publishes its
** struct layouts the same way (sqlite3_wasm_enum_json).
*/
#ifndef DOSQL_CONTRACT_H
#define DOSQL_CONTRACT_H

/* The contract as JSON text (its members: contract.c), or 0 when out of
** memory. Built by the first call; kept for the life of the module. */
const char *contractJson(void);

#endif /* DOSQL_CONTRACT_H */
