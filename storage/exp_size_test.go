package storage

import (
	"fmt"
	"os"
	"testing"
)

func TestExpSizes(t *testing.T) {
	const n = 200_000
	views := realisticViews(n, 7)
	if os.Getenv("NOVISITOR") != "" {
		for i := range views {
			views[i].VisitorID = ""
		}
	}
	var vsum int
	for i := range views {
		vsum += len(EncodeView(nil, &views[i]))
	}
	fmt.Printf("avg value %.1f\n", float64(vsum)/n)
	dir := t.TempDir()
	s, _ := Open(Options{Dir: dir})
	w := s.NewWriter(WriterConfig{ViewCapacity: n})
	for _, v := range views {
		w.AddView(v)
	}
	s.Close()
	s, _ = Open(Options{Dir: dir})
	s.DB().Flatten(2)
	var keys, disk, unc, idx, bloom uint64
	for _, ti := range s.DB().Tables() {
		keys += uint64(ti.KeyCount)
		disk += uint64(ti.OnDiskSize)
		unc += uint64(ti.UncompressedSize)
		idx += uint64(ti.IndexSz)
		bloom += uint64(ti.BloomFilterSize)
	}
	fmt.Printf("tables %d keys %d disk %.1f B/view unc %.1f idx %.2f bloom %.2f\n", len(s.DB().Tables()), keys, float64(disk)/n, float64(unc)/n, float64(idx)/n, float64(bloom)/n)
	s.Close()
}
