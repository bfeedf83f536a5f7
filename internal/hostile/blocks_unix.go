//go:build unix

package hostile

import (
	"io/fs"
	"syscall"
)

// allocated is a file's allocated size: 512-byte blocks on Unix.
func allocated(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return info.Size()
}
