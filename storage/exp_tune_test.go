package storage

import (
	"os"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// TEMPORARY: option experiments via EXP="k=v,k=v".
func init() {
	exp := os.Getenv("EXP")
	if exp == "" {
		return
	}
	expTune = func(o badger.Options) badger.Options {
		for _, kv := range strings.Split(exp, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.Atoi(v)
			switch k {
			case "noconflicts":
				o = o.WithDetectConflicts(false)
			case "nometrics":
				o = o.WithMetricsEnabled(false)
			case "mem":
				o = o.WithMemTableSize(int64(n) << 20)
			case "block":
				o = o.WithBlockSize(n << 10)
			case "zstd":
				o = o.WithZSTDCompressionLevel(n)
			case "snappy":
				o = o.WithCompression(options.Snappy)
			case "nocomp":
				o = o.WithCompression(options.None)
			case "compactors":
				o = o.WithNumCompactors(n)
			case "l0":
				o = o.WithNumLevelZeroTables(n)
			case "l0stall":
				o = o.WithNumLevelZeroTablesStall(n)
			case "basetable":
				o = o.WithBaseTableSize(int64(n) << 20)
			case "baselevel":
				o = o.WithBaseLevelSize(int64(n) << 20)
			case "memtables":
				o = o.WithNumMemtables(n)
			case "bloom":
				o = o.WithBloomFalsePositive(float64(n) / 1000)
			case "goroutines":
				o = o.WithNumGoroutines(n)
			}
		}
		return o
	}
}
