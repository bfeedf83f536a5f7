//go:build !unix

package main

import "time"

// processCPU is not measured outside Unix; the CPU columns read 0.
func processCPU() time.Duration { return 0 }
