package tokenizer

import "unicode/utf8"

// StreamDecoder turns generated tokens into text as they arrive. Each Write
// returns the text that became complete: a multi-byte character split across
// tokens is held back until its last byte arrives, and bytes that can never form
// a valid character come out as U+FFFD, so every returned string is valid UTF-8.
// Pieces are rendered like Piece(id, false) (control tokens are silent) and are
// not cleaned up or space-stripped the way Decode does. Not safe for concurrent
// use.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder starts an empty stream.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Write adds one token and returns the text completed by it (possibly "").
func (d *StreamDecoder) Write(id int32) string {
	d.pending = append(d.pending, d.t.piece(id, false)...)
	return d.drain(false)
}

// Flush returns whatever is held back, incomplete characters as U+FFFD, and
// resets the stream.
func (d *StreamDecoder) Flush() string { return d.drain(true) }

// drain emits the valid prefix of pending; without final, an incomplete
// sequence at the end stays pending.
func (d *StreamDecoder) drain(final bool) string {
	var out []byte
	p := d.pending
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		if r != utf8.RuneError || n > 1 {
			out = append(out, p[:n]...)
			p = p[n:]
			continue
		}
		if !final && incompletePrefix(p) {
			break
		}
		out = utf8.AppendRune(out, utf8.RuneError)
		p = p[1:]
	}
	d.pending = append(d.pending[:0], p...)
	return string(out)
}

// incompletePrefix reports whether p (which does not start with a valid
// character) is the beginning of one that more bytes could complete.
func incompletePrefix(p []byte) bool {
	if len(p) >= utf8.UTFMax {
		return false
	}
	n := 0
	switch b := p[0]; {
	case b >= 0xC2 && b <= 0xDF:
		n = 2
	case b >= 0xE0 && b <= 0xEF:
		n = 3
	case b >= 0xF0 && b <= 0xF4:
		n = 4
	default:
		return false
	}
	if len(p) >= n {
		return false
	}
	// the bytes so far must be valid continuation bytes of a well-formed sequence:
	// complete them with the smallest continuation and see if that decodes.
	probe := append([]byte(nil), p...)
	for len(probe) < n {
		probe = append(probe, 0x80)
	}
	if r, _ := utf8.DecodeRune(probe); r != utf8.RuneError {
		return true
	}
	// some leads (E0, F0) need a larger second byte than 0x80
	probe = append(append([]byte(nil), p...), 0xBF, 0xBF, 0xBF)[:n]
	r, _ := utf8.DecodeRune(probe)
	return r != utf8.RuneError
}
