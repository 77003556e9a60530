//go:build !unix

package kvcache

func cpuNanos() int64 { return 0 }
