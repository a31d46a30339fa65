// tenant.js — the one rule for tenant names: what the standalone router accepts in
// /db/<tenant>/, and what POST /branch names a new database.

// Not "." or "..": URLs remove those segments, so no /db/<tenant>/ could reach them.
const TENANT_PATTERN = /^(?!\.\.?$)[A-Za-z0-9._-]{1,128}$/;

/** Why name is no tenant name, or null when it is one. @param {string} name */
export function tenantNameError(name) {
  return TENANT_PATTERN.test(name) ? null : 'tenant names are 1 to 128 characters of A-Z a-z 0-9 . _ -, other than . and ..';
}
