import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    projects: [
      // Every test, on the embedded SQLite store.
      { extends: true, test: { name: "sqlite", include: ["test/**/*.spec.ts"] } },
      // The end-to-end API suite again, on EventStoreDB: the real client over gRPC to the
      // in-process test server (test/store/esdb/esdbTestServer.ts), see test/fixtures/ledgerServer.ts.
      {
        extends: true,
        test: { name: "esdb", include: ["test/api/**/*.e2e.spec.ts"], env: { LEDGER_TEST_STORE: "esdb" } }
      }
    ]
  }
})
