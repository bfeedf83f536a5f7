// Package testkit is what the tests of several packages share: a settable
// clock, the process's CPU time, free ports and the metrics the benchmarks
// read (the in-process Caddy is in testcaddy).
// Only tests and the benchmarks import it, so it is never part of
// Caddy.
package testkit
