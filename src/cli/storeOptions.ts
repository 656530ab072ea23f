/** The `--store` and `--db` options shared by the commands that open the ledger. */
import { Options } from "@effect/cli"
import { Config } from "effect"

export const storeOption = Options.text("store").pipe(
  Options.withDescription("sqlite (embedded file) or an esdb://host:2113?tls=false connection string"),
  Options.withFallbackConfig(Config.string("LEDGER_STORE")),
  Options.withDefault("sqlite")
)

export const dbOption = Options.text("db").pipe(
  Options.withDescription("SQLite file: the log on the embedded store, read models and webhook deliveries always"),
  Options.withFallbackConfig(Config.string("LEDGER_DB")),
  Options.withDefault("./data/ledger.db")
)
