/**
 * Runs a server in a child process (so its memory is its own and the load generator does not share
 * its event loop) and a keep-alive HTTP client to measure it.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs"
import http from "node:http"
import { createServer } from "node:net"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const benchDir = dirname(fileURLToPath(import.meta.url))

/**
 * Compiles `entry` (relative to the project) to one JavaScript file under `bench/.build/`, with
 * packages left to `node_modules`, so a measured server runs as `node` runs the built CLI, without
 * the TypeScript loader's memory and start-up in it. Returns the file.
 */
export const buildEntry = async (entry: string, name: string): Promise<string> => {
  const { build } = await import("esbuild")
  const outfile = join(benchDir, ".build", `${name}.mjs`)
  mkdirSync(dirname(outfile), { recursive: true })
  await build({
    entryPoints: [join(benchDir, "..", entry)], outfile, bundle: true, platform: "node", format: "esm",
    target: "node20", packages: "external", logLevel: "error"
  })
  return outfile
}

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

export interface ServerProcess {
  readonly url: string
  readonly child: ChildProcess
  /** Peak resident set size so far, bytes (VmHWM). */
  readonly peakRss: () => number
  /** CPU time the process used so far, all its threads, ms (`/proc/<pid>/stat` utime + stime at 100 ticks/s). */
  readonly cpuMillis: () => number
  readonly stop: () => Promise<void>
}

/** Rate limits high enough not to throttle a benchmark (every class). */
export const unlimitedRateLimits = "create=100000000,metadata=100000000,agentAvailability=100000000,transfer=100000000,end=100000000"

/** Starts `node <script> ...args` (built with `buildEntry`) and waits until `GET readyPath` answers 200. */
export const startServerProcess = async (
  script: string,
  args: ReadonlyArray<string>,
  port: number,
  readyPath: string,
  env: Record<string, string> = {}
): Promise<ServerProcess> => {
  // BENCH_NODE_ARGS: extra node flags for the measured server, e.g. `--cpu-prof` to profile it.
  // BENCH_SERVER_STDOUT: a file the server's standard output is appended to (with `--trace-gc`).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")
  const stdoutFd = process.env.BENCH_SERVER_STDOUT === undefined ? undefined : openSync(process.env.BENCH_SERVER_STDOUT, "a")
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", stdoutFd ?? "ignore", "pipe"]
  })
  // The child has its own copy of the descriptor.
  if (stdoutFd !== undefined) closeSync(stdoutFd)
  let stderr = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${stderr}`)
    const ok = await request(url, "GET", readyPath).then((r) => r.status === 200, () => false)
    if (ok) break
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`server did not start: ${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    url,
    child,
    peakRss: () => {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))
      return match === null ? Number.NaN : Number(match[1]) * 1024
    },
    cpuMillis: () => {
      // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ")
      return (Number(fields[11]) + Number(fields[12])) * 10
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
        child.once("exit", () => {
          clearTimeout(timer)
          resolve()
        })
        child.kill("SIGTERM")
      })
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

/** One request over a keep-alive connection; resolves with the status and body. */
export const request = (base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(`${base}${path}`, {
      method,
      agent,
      headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => {
        text += c
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on("error", reject)
    if (payload !== undefined) req.write(payload)
    req.end()
  })
