package gguf

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error returned by this package wraps one of them and
// names the file, so callers can test with errors.Is and users see which file
// and which part of it is at fault.
var (
	// ErrNotGGUF: the file does not start with the GGUF magic.
	ErrNotGGUF = errors.New("not a GGUF file")
	// ErrUnsupported: a valid file that uses something kvpack cannot read
	// (GGUF v1, a tensor type without a known block layout, ...).
	ErrUnsupported = errors.New("unsupported")
	// ErrTruncated: the file ends before a structure it announces.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed: the file is internally inconsistent.
	ErrMalformed = errors.New("malformed")
)

// shortError is a read past the end of the buffer; it matches ErrTruncated.
type shortError struct {
	at, need, size uint64
}

func (e *shortError) Error() string {
	return fmt.Sprintf("truncated: need %d bytes at byte %d but file has %d bytes", e.need, e.at, e.size)
}

func (e *shortError) Is(target error) bool { return target == ErrTruncated }

// malformed builds an error wrapping ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
