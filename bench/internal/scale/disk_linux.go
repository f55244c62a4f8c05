package scale

import (
	"io/fs"
	"syscall"
)

// allocated is the disk space a file takes: its blocks, not its length.
func allocated(e fs.DirEntry) int64 {
	info, err := e.Info()
	if err != nil {
		return 0
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
