package pow

// A WebAssembly binary emitter for exactly the subset the generated module
// needs: LEB128 integers, a handful of sections and the opcodes below.
// Encodings follow the core spec, chapter "Binary Format"
// (https://webassembly.github.io/spec/core/binary/).

type opcode byte

const (
	opBlock     opcode = 0x02
	opLoop      opcode = 0x03
	opIf        opcode = 0x04
	opElse      opcode = 0x05
	opEnd       opcode = 0x0B
	opBr        opcode = 0x0C
	opBrIf      opcode = 0x0D
	opCall      opcode = 0x10
	opLocalGet  opcode = 0x20
	opLocalSet  opcode = 0x21
	opLocalTee  opcode = 0x22
	opI64Load   opcode = 0x29
	opI32Load8U opcode = 0x2D
	opI64Store  opcode = 0x37
	opI32Store8 opcode = 0x3A
	opI32Const  opcode = 0x41
	opI64Const  opcode = 0x42
	opI32Eqz    opcode = 0x45
	opI32Eq     opcode = 0x46
	opI32LtU    opcode = 0x49
	// opI32GeS is what we emit for "j ≥ in_len": both operands are small
	// and non-negative, so signed and unsigned agree, and 0x4E keeps the
	// one-hash module byte-identical to the vectors of vectors_test.go.
	opI32GeS       opcode = 0x4E
	opI32GeU       opcode = 0x4F
	opI32Clz       opcode = 0x67
	opI32Add       opcode = 0x6A
	opI32Sub       opcode = 0x6B
	opI32DivU      opcode = 0x6E
	opI32RemU      opcode = 0x70
	opI32And       opcode = 0x71
	opI32Shl       opcode = 0x74
	opI64Add       opcode = 0x7C
	opI64And       opcode = 0x83
	opI64Or        opcode = 0x84
	opI64Xor       opcode = 0x85
	opI64Shl       opcode = 0x86
	opI64Rotl      opcode = 0x89
	opI64ExtendI32 opcode = 0xAD // i64.extend_i32_u
)

// Value and block types, section ids and export kinds.
const (
	typeI32       = 0x7F
	typeI64       = 0x7E
	typeFunc      = 0x60
	blockTypeVoid = 0x40

	sectionType     = 1
	sectionFunction = 3
	sectionMemory   = 5
	sectionExport   = 7
	sectionCode     = 10

	exportFunc   = 0x00
	exportMemory = 0x02
)

var wasmHeader = []byte{0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00} // "\0asm", version 1

// emitter appends encoded bytes to b. The zero value is ready to use.
type emitter struct {
	b []byte
}

func (e *emitter) raw(bs ...byte) { e.b = append(e.b, bs...) }

// uleb appends v as unsigned LEB128: 7 bits per byte, low group first, high
// bit set on every byte but the last.
func (e *emitter) uleb(v uint64) {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v == 0 {
			e.b = append(e.b, c)
			return
		}
		e.b = append(e.b, c|0x80)
	}
}

// sleb appends v as signed LEB128: like uleb, but it stops once the remaining
// bits are pure sign extension of the last group's bit 6.
func (e *emitter) sleb(v int64) {
	for {
		c := byte(v & 0x7F)
		v >>= 7 // arithmetic shift keeps the sign
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			e.b = append(e.b, c)
			return
		}
		e.b = append(e.b, c|0x80)
	}
}

// name appends a length-prefixed UTF-8 string.
func (e *emitter) name(s string) {
	e.uleb(uint64(len(s)))
	e.b = append(e.b, s...)
}

// section appends a section: its id, the content's ULEB128 size, the content.
func (e *emitter) section(id byte, content []byte) {
	e.raw(id)
	e.uleb(uint64(len(content)))
	e.raw(content...)
}

func (e *emitter) op(o opcode) { e.b = append(e.b, byte(o)) }

// ops appends instructions that take no immediate.
func (e *emitter) ops(os ...opcode) {
	for _, o := range os {
		e.op(o)
	}
}

// memOp appends a load or store with the memarg align=0, offset=0.
func (e *emitter) memOp(o opcode) { e.raw(byte(o), 0, 0) }

func (e *emitter) localGet(i uint32) { e.op(opLocalGet); e.uleb(uint64(i)) }
func (e *emitter) localSet(i uint32) { e.op(opLocalSet); e.uleb(uint64(i)) }
func (e *emitter) localTee(i uint32) { e.op(opLocalTee); e.uleb(uint64(i)) }

func (e *emitter) i32Const(v int32) { e.op(opI32Const); e.sleb(int64(v)) }

// i64Const takes the bit pattern: values ≥ 2^63 are encoded as the negative
// two's-complement number, as the spec requires.
func (e *emitter) i64Const(v uint64) { e.op(opI64Const); e.sleb(int64(v)) }

func (e *emitter) block()  { e.raw(byte(opBlock), blockTypeVoid) }
func (e *emitter) loop()   { e.raw(byte(opLoop), blockTypeVoid) }
func (e *emitter) end()    { e.op(opEnd) }
func (e *emitter) ifThen() { e.raw(byte(opIf), blockTypeVoid) }
func (e *emitter) els()    { e.op(opElse) }

func (e *emitter) br(depth uint32)   { e.op(opBr); e.uleb(uint64(depth)) }
func (e *emitter) brIf(depth uint32) { e.op(opBrIf); e.uleb(uint64(depth)) }
func (e *emitter) call(fn uint32)    { e.op(opCall); e.uleb(uint64(fn)) }
