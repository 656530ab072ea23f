/**
 * `call-ledger keys create|list|revoke`: API keys in the ledger's SQLite file (table `api_keys`).
 * `create` prints the key once; only its SHA-256 is kept. A running service sees changes at once.
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { apiScopes } from "../api/apiScopes.js"
import { createApiKey, listApiKeys, revokeApiKey } from "../api/apiKeys.js"
import type { ApiKey } from "../api/apiKeys.js"
import { ledgerDatabaseLayer } from "../store/sqlite/sqliteDatabase.js"
import { dbOption } from "./storeOptions.js"

/** A mistake of the user's: said on stderr without a stack trace, and the exit code is 1. */
const refuse = (message: string) =>
  Console.error(`call-ledger keys: ${message}`).pipe(Effect.zipRight(Effect.sync(() => { process.exitCode = 1 })))

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON"))

const name = Options.text("name").pipe(Options.withDescription("What the key is for, e.g. the service that uses it"))
const scope = Options.text("scope").pipe(
  Options.withDescription(`A scope the key holds: ${apiScopes.join(", ")} (repeat, or separate with commas)`),
  Options.repeated
)

const describe = (key: ApiKey): string =>
  [
    key.id.padEnd(20),
    (key.revokedAt === null ? "active " : "revoked").padEnd(8),
    `${key.prefix}…`.padEnd(12),
    key.scopes.join(",").padEnd(52),
    `created ${key.createdAt}`,
    key.lastUsedAt === null ? "never used" : `last used ${key.lastUsedAt}`,
    key.revokedAt === null ? "" : `revoked ${key.revokedAt}`,
    key.name
  ].filter((s) => s !== "").join("  ")

const createCommand = Command.make("create", { db: dbOption, name, scope, json }, (o) =>
  Effect.gen(function*() {
    const scopes = o.scope.flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "")
    const result = yield* Effect.either(createApiKey({ name: o.name, scopes }))
    if (result._tag === "Left") return yield* refuse(`--${result.left.field}: ${result.left.message}`)
    const created = result.right
    if (o.json) return yield* Console.log(JSON.stringify(created))
    yield* Console.log(`created ${created.id} (${created.name}) with ${created.scopes.join(", ")}`)
    yield* Console.log(`key (shown this once; only its hash is stored): ${created.key}`)
  }).pipe(Effect.provide(ledgerDatabaseLayer(o.db)))
).pipe(Command.withDescription("Create an API key with a name and scopes; prints the key once"))

const listCommand = Command.make("list", { db: dbOption, json }, (o) =>
  Effect.gen(function*() {
    const keys = yield* listApiKeys
    if (o.json) return yield* Console.log(JSON.stringify(keys))
    if (keys.length === 0) return yield* Console.log("no API keys: create one with `call-ledger keys create --name NAME --scope SCOPE`")
    for (const key of keys) yield* Console.log(describe(key))
  }).pipe(Effect.provide(ledgerDatabaseLayer(o.db)))
).pipe(Command.withDescription("List API keys (never their secrets)"))

const revokeCommand = Command.make("revoke", { db: dbOption, id: Args.text({ name: "id" }) }, (o) =>
  Effect.gen(function*() {
    const result = yield* Effect.either(revokeApiKey(o.id))
    if (result._tag === "Left") return yield* refuse(`no API key ${result.left.id} (see \`call-ledger keys list\`)`)
    yield* Console.log(`revoked ${result.right.id} (${result.right.name}) at ${result.right.revokedAt}`)
  }).pipe(Effect.provide(ledgerDatabaseLayer(o.db)))
).pipe(Command.withDescription("Revoke an API key by id; requests with it are refused from now on"))

export const keysCommand = Command.make("keys").pipe(
  Command.withDescription("Manage the bearer API keys of the HTTP API"),
  Command.withSubcommands([createCommand, listCommand, revokeCommand])
)
