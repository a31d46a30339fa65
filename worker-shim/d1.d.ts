// dosql/d1 (src/client/d1.js): the D1 facade alone. Its types are index.d.ts's; only
// what this entry point exports at run time is named here.

export { toD1, DoSQLD1Database, DoSQLD1PreparedStatement } from './index.js';
export type { D1FacadeOptions, D1Meta, D1Result, D1ExecResult, StubLike } from './index.js';
