package tokenizer

// Binary heaps of merge candidates, one per kind so that the ordering inlines
// (a generic heap calls its comparison through a dictionary, which costs a
// third of BPE's time).

// bpeQueue pops the lowest rank first, then the leftmost pair.
type bpeQueue []bpePair

func bpeBefore(a, b *bpePair) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

func (q *bpeQueue) push(x bpePair) {
	h := append(*q, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !bpeBefore(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *bpeQueue) pop() bpePair {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < last && bpeBefore(&h[l], &h[m]) {
			m = l
		}
		if l+1 < last && bpeBefore(&h[l+1], &h[m]) {
			m = l + 1
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// spmQueue pops the highest score first, then the leftmost pair.
type spmQueue []spmPair

func spmBefore(a, b *spmPair) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

func (q *spmQueue) push(x spmPair) {
	h := append(*q, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !spmBefore(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *spmQueue) pop() spmPair {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < last && spmBefore(&h[l], &h[m]) {
			m = l
		}
		if l+1 < last && spmBefore(&h[l+1], &h[m]) {
			m = l + 1
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
