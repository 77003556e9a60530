// Package mmapfile maps model files read-only into memory, so tensor data is
// never copied into the Go heap (where the OS has no mmap, it reads the file).
package mmapfile

import "os"

// Map returns the contents of path and the function that releases them. An
// empty (or unmappably large) file gives nil data and a no-op release, so the
// caller's parser can report it in its own words.
func Map(path string) (data []byte, release func([]byte) error, err error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size <= 0 || size != int64(int(size)) {
		return nil, func([]byte) error { return nil }, nil
	}
	return mapFile(fd, int(size))
}
