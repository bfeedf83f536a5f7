// The proof-of-work search of ea.js, included into it where ea.js says
// "include: solve.js". It uses nothing from outside, so that it also runs
// in a Worker as source text (and under Node in the tests).
//
// search finds a nonce n >= start such that H(prefix + decimal n) has at
// least bits leading zero bits (byte 0's high bit first) and calls
// done(n, 32 hex of H, solver), or done() if it cannot search. solver is
// "w" when the WebAssembly module (wasm, base64) found it, and "j" when
// the JavaScript twin below did: it takes over wherever the module cannot
// run (no WebAssembly, a CSP without 'wasm-unsafe-eval', a failed
// compile). Both compute the same hash of the same epoch: key holds the
// module's constants in 72 hex digits, the four 64-bit initial words (16
// each) and the five rotations packed 6 bits each, the first lowest
// (8 digits; pow.Params.Hex).
//
// It searches 4096 nonces per call; pause, if given, runs the next call
// later, to keep a page responsive.
function search(wasm, key, prefix, bits, start, pause, done) {
  var p = new TextEncoder().encode(prefix);

  // run searches from n with find(a, b), which returns the first nonce of
  // [a, b) that qualifies, or b; out holds the hash of the nonce found.
  function run(find, out, solver, n) {
    for (var got, h = "", i = 0; (got = find(n, n + 4096)) === n + 4096; ) {
      n += 4096;
      if (pause) return pause(() => run(find, out, solver, n));
    }
    while (i < 16) h += (out[i++] | 256).toString(16).slice(1);
    done(got, h, solver);
  }

  // js is the hash of pow/hash.go on 32-bit halves. The input lives in
  // t, the prefix followed by the nonce's digits, read as little-endian
  // words (as every browser's typed arrays are) through t32; it is zero
  // beyond. The prefix's whole 8-byte blocks are hashed once (state M);
  // each nonce then hashes only the blocks from q on.
  function js(n) {
    var K = [], O = [], M, L = p.length, q = L & ~7, i;
    var t = new Uint8Array(L + 32 & ~7), t32 = new Int32Array(t.buffer), w = new Int32Array(4), out = new Uint8Array(w.buffer);
    for (i = 0; i < 9; i++) K[i] = parseInt(key.substr(8 * i, 8), 16) | 0;
    // Rotating by r is swapping the halves when r & 32, then rotating
    // both by s = r & 31; ">>> 1 >>> 31 - s" is ">>> 32 - s" that also
    // gives 0 for s = 0.
    var lo;
    function rot(h, l, r) {
      if (r & 32) { var u = h; h = l; l = u; }
      r &= 31;
      lo = l << r | h >>> 1 >>> 31 - r;
      return h << r | l >>> 1 >>> 31 - r;
    }
    function add(h, l, H, L) {
      lo = l + L | 0;
      return h + H + ((l & L | (l | L) & ~lo) >>> 31) | 0;
    }

    // H hashes t[j..n) from the state V (v0..v3 as high, low words) into
    // O: the whole blocks only when len < 0, else also the final block,
    // whose top byte is len's low byte, and the finalisation.
    function H(j, n, V, len) {
      var h0 = V[0], l0 = V[1], h1 = V[2], l1 = V[3], h2 = V[4], l2 = V[5], h3 = V[6], l3 = V[7];
      var k, f, mh, ml, u;
      for (;;) {
        f = j + 8 > n;
        if (f && len < 0) break;
        ml = t32[j >> 2];
        mh = t32[j + 4 >> 2] | (f ? len << 24 : 0);
        h3 ^= mh; l3 ^= ml;
        // Two rounds per block; the final block's are followed by
        // v0 ^= m, v2 ^= 0xff and four more.
        for (k = f ? 6 : 2; k--; ) {
          if (k === 3) { h0 ^= mh; l0 ^= ml; l2 ^= 255; }
          h0 = add(h0, l0, h1, l1); l0 = lo;
          h1 = rot(h1, l1, K[8]) ^ h0; l1 = lo ^ l0;
          u = h0; h0 = l0; l0 = u;
          h2 = add(h2, l2, h3, l3); l2 = lo;
          h3 = rot(h3, l3, K[8] >> 6) ^ h2; l3 = lo ^ l2;
          h0 = add(h0, l0, h3, l3); l0 = lo;
          h3 = rot(h3, l3, K[8] >> 12) ^ h0; l3 = lo ^ l0;
          h2 = add(h2, l2, h1, l1); l2 = lo;
          h1 = rot(h1, l1, K[8] >> 18) ^ h2; l1 = lo ^ l2;
          h2 = rot(h2, l2, K[8] >> 24); l2 = lo;
        }
        if (f) break;
        h0 ^= mh; l0 ^= ml;
        j += 8;
      }
      O[0] = h0; O[1] = l0; O[2] = h1; O[3] = l1; O[4] = h2; O[5] = l2; O[6] = h3; O[7] = l3;
    }
    // find writes a's digits after the prefix and leaves the hash in out:
    // v0 ^ v1, v2 ^ v3 as little-endian words, low word first. It checks
    // the leading zero bits of the first four bytes, byte 0's high bit
    // first: difficulties stay within 32 bits.
    function find(a, b) {
      for (var s, nd, i; a < b; a++) {
        for (s = String(a), nd = s.length, i = 0; i < nd; i++) t[L + i] = s.charCodeAt(i);
        H(q, L + nd, M, L + nd);
        w[0] = O[1] ^ O[3];
        w[1] = O[0] ^ O[2];
        w[2] = O[5] ^ O[7];
        w[3] = O[4] ^ O[6];
        if (Math.clz32(out[0] << 24 | out[1] << 16 | out[2] << 8 | out[3]) >= bits) return a;
      }
      return b;
    }

    t.set(p);
    H(0, q, K, -1);
    M = O.slice();
    run(find, out, "j", n);
  }

  try {
    WebAssembly.instantiate(Uint8Array.from(atob(wasm), (c) => c.charCodeAt(0))).then((res) => {
      var x = res.instance.exports, m = new Uint8Array(x.memory.buffer);
      m.set(p, 0);
      run(function (a, b) {
        return x.search(0, p.length, 2048, bits, a, b) >>> 0;
      }, m.subarray(2048), "w", start);
    }, () => js(start));
  } catch (e) {
    js(start);
  }
}
