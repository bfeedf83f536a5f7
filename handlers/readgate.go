package handlers

import (
	"net/http"
	"runtime"
)

// ReadGate bounds how many API reads run at once, so a burst of expensive
// queries (open to anyone in public mode) cannot take every core or hold
// unbounded memory. A read that finds every slot taken is refused at once
// with 429 and Retry-After instead of queueing. One gate is shared by every
// handler of a data directory.
type ReadGate struct {
	slots chan struct{}
}

// DefaultReadSlots is the gate's size: twice the cores, at least 4.
func DefaultReadSlots() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// NewReadGate admits up to n concurrent reads.
func NewReadGate(n int) *ReadGate {
	return &ReadGate{slots: make(chan struct{}, max(1, n))}
}

// Enter takes a slot; false means the gate is full.
func (g *ReadGate) Enter() bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Leave returns the slot taken by a successful Enter.
func (g *ReadGate) Leave() { <-g.slots }

// Refuse answers a read that found the gate full.
func (g *ReadGate) Refuse(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too many concurrent reads; retry shortly")
}
