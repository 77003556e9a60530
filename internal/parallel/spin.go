//go:build !race

package parallel

// spinLimit is how many polls a worker (or the caller waiting for workers)
// makes before it blocks. A decode step runs ~200 short parallel loops back to
// back; waking a parked goroutine costs tens of microseconds each time, so
// workers poll briefly, like llama.cpp's threads, and park only when idle.
const spinLimit = 1 << 14
