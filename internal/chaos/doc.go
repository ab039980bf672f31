// Package chaos is ordersync's reliability suite: it runs the real worker
// binary against the in-process broker and the WeChat Pay sandbox
// (internal/stack), breaks things — SIGKILLs, broker restarts, rebalances,
// a dead-letter topic that refuses writes, API outages and bad answers,
// SIGTERM under load — and ends every scenario with an invariant check
// (every valid event delivered, per-order order, every bad event
// dead-lettered once with the right class, duplicates counted and bounded,
// no secret in any log line).
//
// The package has only tests. `make test` runs a short subset on every CI
// run; `make chaos` runs the long forms (build tag chaos). docs/reliability.md
// describes each scenario and quotes the figures of the last run.
package chaos
