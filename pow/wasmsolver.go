package pow

// The generated WebAssembly solver (SolverWasm). Its hash function is emitted once, as the exported
// function solve; search calls it per nonce. oneHashSolverWasm unrolls the
// hash's eight rounds; the served module runs one copy of the round in a
// loop, which keeps it near 580 bytes with search (it travels inside ea.js)
// for 20-40 % of speed per hash (docs/performance.md).
//
// Exports of the served module:
//
//	memory                                       1 page (64 KiB), no maximum
//	solve(in_ptr, in_len, out_ptr)               H([in_ptr, in_ptr+in_len)) → [out_ptr, out_ptr+16)
//	search(in_ptr, in_len, out_ptr, bits, start, end) → nonce
//
// search expects the prefix "challenge:sid:site:" at in_ptr. For n = start,
// start+1, … it writes n in decimal (no leading zeros, "0" for zero) at
// in_ptr+in_len, hashes prefix+digits into out_ptr and stops at the first n
// whose hash has ≥ bits leading zero bits (memory order, byte 0's high bit
// first). It returns that n, or end if no n in [start, end) qualifies. All
// values are i32; nonces are unsigned (JS reads the result with >>> 0), and
// end = -1 means "until found". Afterwards the winning digits are still at
// in_ptr+in_len and the hash at out_ptr. Callers use in_ptr 0 and out_ptr
// 2048, so the prefix plus ten digits must stay below 2048 bytes.

// Locals of solve. 0..2 are its parameters.
const (
	solveInPtr uint32 = iota
	solveInLen
	solveOutPtr
	solveV0 // i64 state v0..v3
	solveV1
	solveV2
	solveV3
	solveM // i64 message block
	solveI // i32 offset of the current 8-byte block
	solveJ // i32 offset of the current tail byte
	solveK // i32 rounds left (compact body only)
	solveF // i32 phase: 0 whole blocks, 1 final block, 2 finalisation (compact body only)
)

// Locals of search. 0..5 are its parameters.
const (
	searchInPtr uint32 = iota
	searchInLen
	searchOutPtr
	searchBits
	searchStart
	searchEnd
	searchN     // i32 nonce being tried
	searchT     // i32 scratch: the nonce while formatting, then a hash byte
	searchLen   // i32 number of decimal digits of n
	searchP     // i32 write/read pointer
	searchZeros // i32 leading zero bits counted in whole bytes
)

const (
	solveFunc  uint32 = 0
	searchFunc uint32 = 1
)

// oneHashSolverWasm emits the minimal module: exports memory and solve only.
// For the parameter sets of vectors_test.go it reproduces the known byte
// lengths and SHA-256 sums.
func oneHashSolverWasm(p *Params) []byte { return buildSolverWasm(p, false) }

// SolverWasm emits the served module: oneHashSolverWasm plus the search export.
// The output depends only on p.
func SolverWasm(p *Params) []byte { return buildSolverWasm(p, true) }

func buildSolverWasm(p *Params, withSearch bool) []byte {
	var types, funcs, mem, exports, code emitter

	// Type 0: (i32 i32 i32) → (). Type 1: (i32 ×6) → i32.
	nTypes := uint64(1)
	if withSearch {
		nTypes = 2
	}
	types.uleb(nTypes)
	types.raw(typeFunc, 3, typeI32, typeI32, typeI32, 0)
	if withSearch {
		types.raw(typeFunc, 6, typeI32, typeI32, typeI32, typeI32, typeI32, typeI32, 1, typeI32)
	}

	funcs.uleb(nTypes) // function i has type i
	funcs.raw(0)
	if withSearch {
		funcs.raw(1)
	}

	mem.raw(1, 0, 1) // one memory, no maximum, minimum 1 page

	exports.uleb(nTypes + 1)
	exports.name("memory")
	exports.raw(exportMemory, 0)
	exports.name("solve")
	exports.raw(exportFunc, byte(solveFunc))
	if withSearch {
		exports.name("search")
		exports.raw(exportFunc, byte(searchFunc))
	}

	code.uleb(nTypes)
	body := solveBody(p)
	if withSearch {
		body = compactSolveBody(p)
	}
	code.uleb(uint64(len(body)))
	code.raw(body...)
	if withSearch {
		body = searchBody()
		code.uleb(uint64(len(body)))
		code.raw(body...)
	}

	out := emitter{b: append(make([]byte, 0, 1100), wasmHeader...)}
	out.section(sectionType, types.b)
	out.section(sectionFunction, funcs.b)
	out.section(sectionMemory, mem.b)
	out.section(sectionExport, exports.b)
	out.section(sectionCode, code.b)
	return out.b
}

// solveBody emits the hash, statement by statement.
func solveBody(p *Params) []byte {
	var e emitter
	e.raw(3, 5, typeI64, 1, typeI32, 1, typeI32) // locals: v0..v3, m; i; j

	for k, m := range p.M {
		e.i64Const(m)
		e.localSet(solveV0 + uint32(k))
	}
	e.i32Const(0)
	e.localSet(solveI)

	// Full 8-byte blocks while i+8 ≤ in_len.
	e.block()
	e.loop()
	e.localGet(solveInLen)
	e.localGet(solveI)
	e.i32Const(8)
	e.ops(opI32Add, opI32LtU)
	e.brIf(1)
	e.localGet(solveInPtr)
	e.localGet(solveI)
	e.op(opI32Add)
	e.memOp(opI64Load)
	e.localSet(solveM)
	compress(&e, p, 2)
	e.localGet(solveI)
	e.i32Const(8)
	e.op(opI32Add)
	e.localSet(solveI)
	e.br(0)
	e.end()
	e.end()

	// m = (in_len & 0xff) << 56; the tail bytes are OR-ed in below.
	emitFinalBlock(&e)

	compress(&e, p, 2)
	e.localGet(solveV2)
	e.i64Const(0xff)
	e.op(opI64Xor)
	e.localSet(solveV2)
	for range 4 {
		emitRound(&e, p)
	}
	emitOutput(&e)
	e.end()
	return e.b
}

// compactSolveBody emits the hash of solveBody with one copy of ROUND.
// Every block, the final one and the finalisation go through one round
// loop: a whole block runs 2 rounds; the final block 2, then v0 ^= m,
// v2 ^= 0xff and 4 more.
func compactSolveBody(p *Params) []byte {
	var e emitter
	e.raw(2, 5, typeI64, 4, typeI32) // locals: v0..v3, m; i, j, k, f (zero to start)

	for k, m := range p.M {
		e.i64Const(m)
		e.localSet(solveV0 + uint32(k))
	}
	e.block() // done
	e.loop()  // next block

	// m = the final block if in_len < i+8, else the whole block at i.
	e.localGet(solveInLen)
	e.localGet(solveI)
	e.i32Const(8)
	e.ops(opI32Add, opI32LtU)
	e.ifThen()
	emitFinalBlock(&e)
	e.i32Const(1)
	e.localSet(solveF)
	e.els()
	e.localGet(solveInPtr)
	e.localGet(solveI)
	e.op(opI32Add)
	e.memOp(opI64Load)
	e.localSet(solveM)
	e.end()

	xorInto(&e, solveV3, solveM)
	e.i32Const(2)
	e.localSet(solveK)
	e.loop() // next round
	emitRound(&e, p)
	e.localGet(solveK)
	e.i32Const(1)
	e.op(opI32Sub)
	e.localTee(solveK)
	// After the final block's two rounds: v0 ^= m; v2 ^= 0xff; 4 more.
	e.op(opI32Eqz)
	e.localGet(solveF)
	e.i32Const(1)
	e.ops(opI32Eq, opI32And)
	e.ifThen()
	xorInto(&e, solveV0, solveM)
	e.localGet(solveV2)
	e.i64Const(0xff)
	e.op(opI64Xor)
	e.localSet(solveV2)
	e.i32Const(4)
	e.localSet(solveK)
	e.i32Const(2)
	e.localSet(solveF)
	e.end()
	e.localGet(solveK)
	e.brIf(0)
	e.end()

	e.localGet(solveF)
	e.i32Const(2)
	e.op(opI32Eq)
	e.brIf(1)
	xorInto(&e, solveV0, solveM)
	e.localGet(solveI)
	e.i32Const(8)
	e.op(opI32Add)
	e.localSet(solveI)
	e.br(0)
	e.end()
	e.end()

	emitOutput(&e)
	e.end()
	return e.b
}

// emitFinalBlock emits m = (in_len & 0xff) << 56 with the bytes from i to
// in_len OR-ed in below.
func emitFinalBlock(e *emitter) {
	e.localGet(solveInLen)
	e.op(opI64ExtendI32)
	e.i64Const(0xff)
	e.op(opI64And)
	e.i64Const(56)
	e.op(opI64Shl)
	e.localSet(solveM)
	e.localGet(solveI)
	e.localSet(solveJ)

	e.block()
	e.loop()
	e.localGet(solveJ)
	e.localGet(solveInLen)
	e.op(opI32GeS)
	e.brIf(1)
	e.localGet(solveM)
	e.localGet(solveInPtr)
	e.localGet(solveJ)
	e.op(opI32Add)
	e.memOp(opI32Load8U)
	e.op(opI64ExtendI32)
	e.localGet(solveJ)
	e.localGet(solveI)
	e.op(opI32Sub)
	e.i32Const(3)
	e.op(opI32Shl)
	e.ops(opI64ExtendI32, opI64Shl, opI64Or)
	e.localSet(solveM)
	e.localGet(solveJ)
	e.i32Const(1)
	e.op(opI32Add)
	e.localSet(solveJ)
	e.br(0)
	e.end()
	e.end()
}

// emitOutput emits the stores of v0^v1 and v2^v3 at out_ptr.
func emitOutput(e *emitter) {
	e.localGet(solveOutPtr)
	e.localGet(solveV0)
	e.localGet(solveV1)
	e.op(opI64Xor)
	e.memOp(opI64Store)
	e.localGet(solveOutPtr)
	e.i32Const(8)
	e.op(opI32Add)
	e.localGet(solveV2)
	e.localGet(solveV3)
	e.op(opI64Xor)
	e.memOp(opI64Store)
}

// compress emits v3 ^= m; ROUND × rounds; v0 ^= m.
func compress(e *emitter, p *Params, rounds int) {
	xorInto(e, solveV3, solveM)
	for range rounds {
		emitRound(e, p)
	}
	xorInto(e, solveV0, solveM)
}

// xorInto emits dst ^= src for i64 locals.
func xorInto(e *emitter, dst, src uint32) {
	e.localGet(dst)
	e.localGet(src)
	e.op(opI64Xor)
	e.localSet(dst)
}

// addInto emits dst += src for i64 locals.
func addInto(e *emitter, dst, src uint32) {
	e.localGet(dst)
	e.localGet(src)
	e.op(opI64Add)
	e.localSet(dst)
}

// rotl emits dst = rotl(dst, r), then "^ x" when x is not dst itself.
func rotl(e *emitter, dst uint32, r uint8, x uint32) {
	e.localGet(dst)
	e.i64Const(uint64(r))
	e.op(opI64Rotl)
	if x != dst {
		e.localGet(x)
		e.op(opI64Xor)
	}
	e.localSet(dst)
}

// emitRound emits the ten statements of ROUND (see round in hash.go).
func emitRound(e *emitter, p *Params) {
	addInto(e, solveV0, solveV1)
	rotl(e, solveV1, p.R[0], solveV0)
	rotl(e, solveV0, 32, solveV0)
	addInto(e, solveV2, solveV3)
	rotl(e, solveV3, p.R[1], solveV2)
	addInto(e, solveV0, solveV3)
	rotl(e, solveV3, p.R[2], solveV0)
	addInto(e, solveV2, solveV1)
	rotl(e, solveV1, p.R[3], solveV2)
	rotl(e, solveV2, p.R[4], solveV2)
}

// searchBody emits the nonce search described at the top of this file.
func searchBody() []byte {
	var e emitter
	e.raw(1, 5, typeI32) // locals: n, t, len, p, zeros

	e.localGet(searchStart)
	e.localSet(searchN)
	e.block() // exit: n is the answer
	e.loop()  // next nonce

	e.localGet(searchN)
	e.localGet(searchEnd)
	e.op(opI32Eq)
	e.brIf(1)

	// len = number of decimal digits of n (at least one).
	e.localGet(searchN)
	e.localSet(searchT)
	e.i32Const(0)
	e.localSet(searchLen)
	e.loop()
	e.localGet(searchLen)
	e.i32Const(1)
	e.op(opI32Add)
	e.localSet(searchLen)
	e.localGet(searchT)
	e.i32Const(10)
	e.op(opI32DivU)
	e.localTee(searchT)
	e.brIf(0)
	e.end()

	// Write the digits right to left, ending at in_ptr+in_len+len.
	e.localGet(searchInPtr)
	e.localGet(searchInLen)
	e.op(opI32Add)
	e.localGet(searchLen)
	e.op(opI32Add)
	e.localSet(searchP)
	e.localGet(searchN)
	e.localSet(searchT)
	e.loop()
	e.localGet(searchP)
	e.i32Const(1)
	e.op(opI32Sub)
	e.localTee(searchP)
	e.localGet(searchT)
	e.i32Const(10)
	e.op(opI32RemU)
	e.i32Const('0')
	e.op(opI32Add)
	e.memOp(opI32Store8)
	e.localGet(searchT)
	e.i32Const(10)
	e.op(opI32DivU)
	e.localTee(searchT)
	e.brIf(0)
	e.end()

	e.localGet(searchInPtr)
	e.localGet(searchInLen)
	e.localGet(searchLen)
	e.op(opI32Add)
	e.localGet(searchOutPtr)
	e.call(solveFunc)

	// zeros = 8 × (zero bytes before the first non-zero one); t = that byte.
	e.i32Const(0)
	e.localSet(searchZeros)
	e.localGet(searchOutPtr)
	e.localSet(searchP)
	e.block()
	e.loop()
	e.localGet(searchP)
	e.memOp(opI32Load8U)
	e.localTee(searchT)
	e.brIf(1)
	e.localGet(searchZeros)
	e.i32Const(8)
	e.op(opI32Add)
	e.localSet(searchZeros)
	e.localGet(searchP)
	e.i32Const(1)
	e.op(opI32Add)
	e.localTee(searchP)
	e.localGet(searchOutPtr)
	e.i32Const(16)
	e.op(opI32Add)
	e.op(opI32LtU)
	e.brIf(0)
	e.end()
	e.end()

	// Leading zero bits = zeros + clz32(t) − 24 (an all-zero hash gives 136,
	// which is still "enough"). Done if ≥ bits.
	e.localGet(searchZeros)
	e.localGet(searchT)
	e.op(opI32Clz)
	e.op(opI32Add)
	e.i32Const(24)
	e.op(opI32Sub)
	e.localGet(searchBits)
	e.op(opI32GeU)
	e.brIf(1)

	e.localGet(searchN)
	e.i32Const(1)
	e.op(opI32Add)
	e.localSet(searchN)
	e.br(0)
	e.end()
	e.end()

	e.localGet(searchN)
	e.end()
	return e.b
}
