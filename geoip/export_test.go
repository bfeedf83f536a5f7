package geoip

import (
	"errors"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// LookupBytes opens a database from memory and looks a up, as Country
// does on a mapped file.
func LookupBytes(b []byte, a netip.Addr) (string, error) {
	r, err := maxminddb.OpenBytes(b)
	if err == nil && r.Metadata.NodeCount == 0 {
		err = errors.New("no networks")
	}
	if err != nil {
		return "", err
	}
	s := &snapshot{r: r}
	_ = s.country(a)
	return s.country(a), nil
}
