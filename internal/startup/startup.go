// Package startup holds the tricks that exist only to make a run start
// sooner: listening for interrupts only when a run must, the garbage
// collector held off until the command starts, and a fetch done on the
// calling goroutine with a watchdog for a source stuck in a call nothing
// can cancel. BENCHMARKS.md says what each one buys.
//
// Everything here is about one process that fetches and then execs or
// supervises; none of it is used after the command starts.
package startup

import (
	"math"
	"runtime/debug"
)

// gcLimit is the heap size at which the collector runs after all while
// held off.
const gcLimit = 64 << 20

// gcPercent and gcMemoryLimit are the collector's settings before HoldGC:
// the runtime's defaults, or what GOGC and GOMEMLIMIT asked for.
var (
	gcPercent     = 100
	gcMemoryLimit = int64(math.MaxInt64)
)

// HoldGC turns the garbage collector off up to a heap of gcLimit.
//
// A run allocates what it needs and then execs, which frees it all: a
// collection before then is wasted, and at 10,000 secrets one cycle (it
// starts threads for its workers) costs more than the decoding. The limit,
// far above what a run of 10,000 secrets needs, lets the collector run
// after all should huge sources grow the heap that far. It overrides GOGC
// and GOMEMLIMIT, which the command inherits and is meant to read. A
// supervisor, which outlives the start, calls ResumeGC.
func HoldGC() {
	gcPercent = debug.SetGCPercent(-1)
	gcMemoryLimit = debug.SetMemoryLimit(gcLimit)
}

// ResumeGC gives the collector back the settings it had before HoldGC.
func ResumeGC() {
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(gcMemoryLimit)
}
