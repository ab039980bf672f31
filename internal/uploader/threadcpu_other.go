//go:build !(linux || darwin || freebsd)

package uploader

import "time"

// threadCPU: this platform has no per-thread CPU clock.
func threadCPU() (time.Duration, bool) { return 0, false }
