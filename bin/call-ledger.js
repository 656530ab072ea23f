#!/usr/bin/env -S node --max-semi-space-size=64
// A 64 MiB young generation: the ledger allocates short-lived objects per command at a high rate,
// and with V8's default (16 MiB) a scavenge came every ~50 ms and held the event loop for ~5 ms,
// most of the p99 of a write (npm run bench: single command latency, end-to-end latency).
import "../dist/cli/main.js"
