//go:build race

package parallel

// spinLimit is short under the race detector, where every poll is slow and
// many test pools share two cores.
const spinLimit = 1 << 6
