/** The `call-ledger` command line: `serve`, `simulate`, `replay`, `audit`, `keys`. */
import "./v8Flags.js"
import { Command } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
import { auditCommand } from "./auditCommand.js"
import { keysCommand } from "./keysCommand.js"
import { replayCommand } from "./replayCommand.js"
import { serveCommand } from "./serveCommand.js"
import { simulateCommand } from "./simulateCommand.js"

const root = Command.make("call-ledger").pipe(
  Command.withDescription("The ledger of every phone call a voice-AI platform makes or takes"),
  Command.withSubcommands([serveCommand, simulateCommand, replayCommand, auditCommand, keysCommand])
)

const cli = Command.run(root, { name: "call-ledger", version: "0.1.0" })

cli(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain({ disableErrorReporting: false }))
