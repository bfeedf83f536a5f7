// Package pow is Echelon's proof-of-work bot defence: a WebAssembly module
// generated per 6-hour epoch, per-minute challenges, native verification of
// tokens, and the bounded replay, session and flag caches around it.
//
// # Derivation (docs/bot-defense.md, Proof of work)
//
//	epoch         floor(unix s / 21600)
//	bucket        floor(unix ms / 60000); its epoch is floor(bucket / 360)
//	module seed   HKDF-Expand-SHA256(HMAC-SHA256(secret, "echelon-pow-module/"+epoch), "echelon-pow-seed/v1", 64)
//	params        ParamsFromSeed(seed)
//	challenge key HMAC-SHA256(secret, "echelon-pow-challenge")
//	challenge     hex(HMAC-SHA256(challenge key, decimal bucket)[:16])
//
// Nodes sharing the secret serve identical modules and accept each other's
// tokens. Every module passes SelfCheck (wazero against Hash) before it is
// served; see Rotator for what happens when one does not.
//
// # Work and token
//
// The browser searches the first nonce n (decimal, no leading zeros) such
// that H(challenge ":" sid ":" site ":" n) has at least d leading zero bits
// (byte 0's high bit first), then sends "<bucket>.<n>.<32 hex of H>"
// (token.go). The expected work is 2^d hashes; median ≈ 0.69·2^d, p95 ≈
// 3·2^d. A hash of a typical 85-byte input costs ≈ 80 ns natively and under
// wazero's compiler; browsers are in the same range, phones 3–5× slower.
// Hence the defaults: d = 14, set by solve times measured in headless
// Chromium (docs/performance.md, Proof of work), and a ceiling of 20 for
// flagged visitors (desktop p95 ≈ 0.3 s, phone ≈ 1 s). Calibrate in the
// browser before changing them.
//
// # Browser side
//
// ea.js needs the bucket, the challenge, the difficulty and the module
// (Verifier.Puzzle, Verifier.Difficulty). With exports memory and search of
// the module (wasmsolver.go documents the ABI):
//
//	const x = (await WebAssembly.instantiate(bytes)).instance.exports
//	const m = new Uint8Array(x.memory.buffer)
//	const p = new TextEncoder().encode(c + ":" + sid + ":" + site + ":")
//	m.set(p, 0)                                   // prefix at 0, < 2038 bytes
//	const n = x.search(0, p.length, 2048, d, 0, -1) >>> 0
//	let h = ""; for (let i = 2048; i < 2064; i++) h += (m[i] | 256).toString(16).slice(1)
//	tok = bucket + "." + n + "." + h
//
// search(…, start, end) stops at end, so a long search can run in slices
// (returns end when none of [start, end) qualifies) to keep the page
// responsive.
//
// Where WebAssembly cannot run, ea.js searches with a JavaScript twin of
// Hash; Params.Hex hands it the module's constants, so its tokens are the
// module's (docs/tracker.md).
//
// # Server side
//
// Pageviews: Verifier.Check (verify, replay check, marks the session).
// Event batches: Verifier.CheckEvent (no replay check; a token past the
// window still passes while its session is verified). Both verify the
// token statelessly first; Difficulty and Flag implement adaptive
// difficulty.
package pow
