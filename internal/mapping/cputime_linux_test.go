package mapping

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time the calling OS thread has used, so a
// benchmark on a shared machine can report time spent working rather than
// waiting for a core. The caller locks its goroutine to the thread.
func threadCPU() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
