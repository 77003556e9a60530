//go:build unix

package kvcache

import "syscall"

// cpuNanos is the process's user+system CPU time: a benchmark metric that a
// loaded machine distorts far less than wall time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
