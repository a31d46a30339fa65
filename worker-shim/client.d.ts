// dosql/client (src/client/client.js): the client alone, without the Durable Object
// class, so a Worker that only calls a database bundles only this. Its types are
// index.d.ts's; only what this entry point exports at run time is named here.

export {
  DoSQLError,
  getDB,
  createClient,
  fromRpcError,
  encodeParams,
  encodeValue,
  decodeValue,
  decodeRow,
  eventStream,
  lastEventId,
} from './index.js';
export type {
  StubLike,
  SQLValue,
  SQLParams,
  SQLRow,
  RunResult,
  BatchStatement,
  BatchResult,
  TransactionClient,
  TransactionOptions,
  DatabaseClient,
  SubscribeOptions,
  ChangeEvent,
  GapEvent,
  ReadyEvent,
  SubscriptionEvent,
  EventStreamOptions,
  HistoryPoint,
  HistoryMark,
  HistoryInfo,
  DiffOptions,
  DiffResult,
  BranchResult,
  RestoreResult,
  ImportResult,
} from './index.js';
