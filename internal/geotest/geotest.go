// Package geotest writes small MaxMind-format country databases for tests
// and benchmarks, so none has to be downloaded.
package geotest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Shape is the record layout of a database vendor.
type Shape int

const (
	// GeoLite2 keeps the code under country.iso_code (DB-IP Lite too).
	GeoLite2 Shape = iota
	// IPinfo keeps it under country_code, with the name under country.
	IPinfo
)

// Bytes builds a database mapping each CIDR to a country code. Reserved
// networks (loopback, private ranges) may be mapped, so tests can place
// 127.0.0.x in countries.
func Bytes(networks map[string]string, shape Shape) ([]byte, error) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "Echelon-Test-Country",
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		return nil, err
	}
	for cidr, cc := range networks {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, fmt.Errorf("network %q: %w", cidr, err)
		}
		var rec mmdbtype.Map
		switch shape {
		case IPinfo:
			rec = mmdbtype.Map{"country_code": mmdbtype.String(cc), "country": mmdbtype.String("Country " + cc)}
		default:
			rec = mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(cc),
				"names": mmdbtype.Map{"en": mmdbtype.String("Country " + cc)}}}
		}
		if err := tree.Insert(n, rec); err != nil {
			return nil, fmt.Errorf("insert %s: %w", cidr, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write builds a database and replaces path with it atomically (a
// temporary file renamed over it, as geoipupdate does).
func Write(path string, networks map[string]string, shape Shape) error {
	b, err := Bytes(networks, shape)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".geotest-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
