//go:build !unix

package testkit

import "time"

// ProcessCPU is not measured outside Unix; it reads 0.
func ProcessCPU() time.Duration { return 0 }
