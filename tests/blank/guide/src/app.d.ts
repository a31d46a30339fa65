// src/app.d.ts
import type { DatabaseClient } from '$lib/server/db';

declare global {
  namespace App {
    interface Platform {
      env: {
        DOSQL_DB: DurableObjectNamespace;
        DATA_BUCKET?: R2Bucket;
      };
      context: ExecutionContext;
      caches: CacheStorage;
    }

    interface Locals {
      db: DatabaseClient;
      tenantId: string;
      user?: {
        id: number;
        name: string;
        email: string;
      };
    }

    interface Error {
      message: string;
      code?: string;
    }
  }
}

export {};
