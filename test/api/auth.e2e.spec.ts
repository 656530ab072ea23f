/**
 * API keys, scopes and rate limits over real HTTP, against the real service with keys required:
 * 401 without a key, with a wrong or revoked one; 403 without the endpoint's scope; the right
 * scope passes; 429 with `Retry-After` past a route class's limit, per key and per class; keys are
 * stored hashed; public routes stay public; the `keys` CLI makes keys a `serve --require-api-key`
 * process accepts and revokes them. Development mode (the default) needs no key.
 */
import { createHash } from "node:crypto"
import { readFileSync, existsSync } from "node:fs"
import Database from "better-sqlite3"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { request, startAuthServer } from "../fixtures/authServer.js"
import type { AuthServer } from "../fixtures/authServer.js"
import { runCli, startServeProcess } from "../fixtures/ledgerProcess.js"
import { freePort, startLedgerServer, tempFolder } from "../fixtures/ledgerServer.js"

const seed002Call = { to: "+918888888888", campaign_id: "flw_f1g2h3", contact_name: "Priya Kumar" }

describe("API keys required", () => {
  let server: AuthServer
  beforeAll(async () => {
    server = await startAuthServer({ rateLimits: { end: 3, metadata: 5 } })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it("401 without a key, with a malformed header, with an unknown key; with a challenge", async () => {
    const none = await request(server.url, "GET", "/v1/calls")
    expect(none.status).toBe(401)
    expect(none.body).toMatchObject({ _tag: "Unauthorized", message: expect.stringContaining("Bearer") })
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer realm="call-ledger"/)

    const basic = await request(server.url, "GET", "/v1/calls", { authorization: "Basic dXNlcjpwYXNz" })
    expect(basic.status).toBe(401)
    expect(basic.body._tag).toBe("Unauthorized")

    const unknown = await request(server.url, "GET", "/v1/calls", { key: "clk_thisKeyWasNeverCreatedAnywhere0000000000000" })
    expect(unknown.status).toBe(401)
    expect(unknown.body).toEqual({ _tag: "Unauthorized", message: "the API key is not valid or was revoked" })
    expect(unknown.headers.get("www-authenticate")).toContain(`error="invalid_token"`)

    // Not even a write reaches the handler: nothing was recorded.
    const write = await request(server.url, "POST", "/v1/calls", { key: "clk_nope" }, seed002Call)
    expect(write.status).toBe(401)
  })

  it("403 without the endpoint's scope, naming it; 2xx with it", async () => {
    const reader = await server.createKey(["voice:calls:read"])
    const writer = await server.createKey(["voice:calls:write"])
    const hooks = await server.createKey(["webhooks:write"])

    const readerWrites = await request(server.url, "POST", "/v1/calls", { key: reader.key }, seed002Call)
    expect(readerWrites.status).toBe(403)
    expect(readerWrites.body).toEqual({
      _tag: "InsufficientScope",
      message: "the API key lacks the scope voice:calls:write",
      required_scope: "voice:calls:write"
    })
    expect(readerWrites.headers.get("www-authenticate")).toContain(`error="insufficient_scope"`)

    const writerReads = await request(server.url, "GET", "/v1/calls", { key: writer.key })
    expect(writerReads.status).toBe(403)
    expect(writerReads.body.required_scope).toBe("voice:calls:read")
    expect((await request(server.url, "GET", "/v1/calls/stats", { key: writer.key })).status).toBe(403)
    expect((await request(server.url, "GET", "/v1/webhooks/endpoints", { key: reader.key })).body.required_scope).toBe("webhooks:write")
    expect((await request(server.url, "POST", "/v1/calls/cal_x/end", { key: reader.key }, { reason: "workflow_close" })).body.required_scope)
      .toBe("voice:calls:write")

    const created = await request(server.url, "POST", "/v1/calls", { key: writer.key }, seed002Call)
    expect(created.status).toBe(201)
    const callId = (created.body.id ?? created.body.call_uuid) as string
    expect(typeof callId).toBe("string")
    expect((await request(server.url, "GET", `/v1/calls/${encodeURIComponent(callId)}`, { key: reader.key })).status).toBe(200)
    expect((await request(server.url, "GET", "/v1/calls?limit=5", { key: reader.key })).status).toBe(200)
    expect((await request(server.url, "GET", "/v1/calls/stats", { key: reader.key })).status).toBe(200)
    expect((await request(server.url, "GET", "/v1/calls/live", { key: reader.key })).status).toBe(200)
    expect((await request(server.url, "GET", "/v1/webhooks/endpoints", { key: hooks.key })).status).toBe(200)

    // A key may hold several scopes.
    const both = await server.createKey(["voice:calls:read", "voice:calls:write"])
    expect((await request(server.url, "GET", "/v1/calls", { key: both.key })).status).toBe(200)
    expect((await request(server.url, "POST", "/v1/calls", { key: both.key }, { ...seed002Call, to: "+918888888889" })).status).toBe(201)
  })

  it("a revoked key is a 401 on its next request", async () => {
    const key = await server.createKey(["voice:calls:read"])
    expect((await request(server.url, "GET", "/v1/calls", { key: key.key })).status).toBe(200)
    const revoked = await server.revokeKey(key.id)
    expect(revoked.revokedAt).not.toBeNull()
    const after = await request(server.url, "GET", "/v1/calls", { key: key.key })
    expect(after.status).toBe(401)
    expect(after.body._tag).toBe("Unauthorized")
  })

  it("429 with Retry-After past a route class's limit, per key and per class", async () => {
    const key = await server.createKey(["voice:calls:write"])
    // `end` is limited to 3 a minute here; the call does not exist, so each allowed request is a 404.
    const statuses: Array<number> = []
    for (let i = 0; i < 3; i++) {
      const response = await request(server.url, "POST", "/v1/calls/cal_doesNotExist/end", { key: key.key }, { reason: "workflow_close" })
      statuses.push(response.status)
      expect(response.headers.get("x-ratelimit-limit")).toBe("3")
      expect(response.headers.get("x-ratelimit-remaining")).toBe(String(2 - i))
    }
    expect(statuses.every((s) => s !== 429)).toBe(true)

    const limited = await request(server.url, "POST", "/v1/calls/cal_doesNotExist/end", { key: key.key }, { reason: "workflow_close" })
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers.get("retry-after"))
    expect(Number.isInteger(retryAfter)).toBe(true)
    // A token comes back every 60 / 3 = 20 s.
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(20)
    expect(limited.body).toEqual({
      _tag: "RateLimitExceeded",
      message: expect.stringContaining("3 requests a minute"),
      route_class: "end",
      limit_per_minute: 3,
      retry_after_seconds: retryAfter
    })

    // Another class of the same key, and the same class of another key, are not affected.
    const metadata = await request(server.url, "POST", "/v1/calls/cal_doesNotExist/metadata", { key: key.key }, { key_details: {} })
    expect(metadata.status).not.toBe(429)
    expect(metadata.headers.get("x-ratelimit-limit")).toBe("5")
    const other = await server.createKey(["voice:calls:write"])
    expect((await request(server.url, "POST", "/v1/calls/cal_doesNotExist/end", { key: other.key }, { reason: "workflow_close" })).status).not.toBe(429)

    // Routes without a class are not limited.
    const reader = await server.createKey(["voice:calls:read"])
    for (let i = 0; i < 12; i++) expect((await request(server.url, "GET", "/v1/calls/live", { key: reader.key })).status).toBe(200)
  })

  it("stores keys hashed: the raw key is nowhere in the database files", async () => {
    const key = await server.createKey(["voice:calls:read"], "hashed-check")
    expect(key.key).toMatch(/^clk_[A-Za-z0-9_-]{43}$/)
    expect((await request(server.url, "GET", "/v1/calls", { key: key.key })).status).toBe(200)

    const db = new Database(server.dbPath, { readonly: true })
    try {
      const row = db.prepare("SELECT * FROM api_keys WHERE id = ?").get(key.id) as Record<string, unknown>
      expect(row["key_hash"]).toBe(createHash("sha256").update(key.key).digest("hex"))
      expect(Object.values(row)).not.toContain(key.key)
    } finally {
      db.close()
    }
    for (const file of [server.dbPath, `${server.dbPath}-wal`]) {
      if (!existsSync(file)) continue
      const bytes = readFileSync(file)
      expect(bytes.includes(Buffer.from(key.key))).toBe(false)
      expect(bytes.includes(Buffer.from(key.key.slice(4)))).toBe(false)
    }
  })

  it("keeps /health, /openapi.json, /docs and the Twilio callback free of keys", async () => {
    expect((await request(server.url, "GET", "/health")).status).toBe(200)
    expect((await request(server.url, "GET", "/openapi.json")).status).toBe(200)
    expect((await request(server.url, "GET", "/docs")).status).toBe(200)
    // Twilio's callback is checked by its signature: unsigned, it is a 403 for the signature, not a 401.
    const twilio = await fetch(`${server.url}/v1/telephony/twilio/status`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "CallSid=CA00000000000000000000000000000000&CallStatus=ringing"
    })
    expect(twilio.status).toBe(403)
    expect(((await twilio.json()) as { _tag: string })._tag).toBe("InvalidTwilioSignature")
  })
})

describe("development mode (keys not required, the default)", () => {
  it("answers without a key", async () => {
    const server = await startLedgerServer()
    try {
      expect(server.config.requireApiKey).toBe(false)
      expect((await request(server.url, "GET", "/v1/calls")).status).toBe(200)
      expect((await request(server.url, "GET", "/v1/calls", { key: "clk_whatever" })).status).toBe(200)
    } finally {
      await server.stop()
    }
  })
})

describe("call-ledger keys and serve --require-api-key", () => {
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const cli = async (args: ReadonlyArray<string>): Promise<{ code: number | string; output: string }> => {
    const run = runCli(args)
    const code = await run.exited
    return { code, output: run.output() }
  }

  it("creates a key that works, lists it without its secret, revokes it", async () => {
    const folder = tempFolder("call-ledger-keys-")
    cleanups.push(folder.remove)
    const dbPath = `${folder.path}/ledger.db`
    const service = await startServeProcess({ dbPath, port: await freePort(), extraArgs: ["--require-api-key"] })
    cleanups.push(() => service.kill("SIGKILL"))

    expect((await request(service.url, "GET", "/v1/calls")).status).toBe(401)

    const created = await cli(["keys", "create", "--db", dbPath, "--name", "dashboard", "--scope", "voice:calls:read", "--json"])
    expect(created.code).toBe(0)
    const key = JSON.parse(created.output.trim().split("\n").pop()!) as { id: string; key: string; scopes: Array<string> }
    expect(key.scopes).toEqual(["voice:calls:read"])
    expect((await request(service.url, "GET", "/v1/calls", { key: key.key })).status).toBe(200)
    expect((await request(service.url, "POST", "/v1/calls", { key: key.key }, seed002Call)).status).toBe(403)

    const listed = await cli(["keys", "list", "--db", dbPath])
    expect(listed.code).toBe(0)
    expect(listed.output).toContain(key.id)
    expect(listed.output).toContain("dashboard")
    expect(listed.output).not.toContain(key.key)

    const revoked = await cli(["keys", "revoke", "--db", dbPath, key.id])
    expect(revoked.code).toBe(0)
    expect((await request(service.url, "GET", "/v1/calls", { key: key.key })).status).toBe(401)

    const bad = await cli(["keys", "create", "--db", dbPath, "--name", "x", "--scope", "voice:calls:delete"])
    expect(bad.code).toBe(1)
    expect(bad.output).toContain("unknown scope voice:calls:delete")
  }, 180_000)
})
