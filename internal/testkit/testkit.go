// Package testkit is what the tests of several packages share: a settable
// clock and the process's CPU time (the in-process Caddy is in testcaddy).
// Only tests and the beacon benchmark import it, so it is never part of
// Caddy.
package testkit
