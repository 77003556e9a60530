package scheduler

import (
	"fmt"
	"time"

	"github.com/kvpack/kvpack/internal/model"
)

// apply handles a plan's admissions, preemptions and removals before the
// forward pass.
func (e *Engine) apply(p *Plan) {
	for _, s := range p.Preempted {
		s.req.comp = nil // rebuilt over the recomputed sequence
		e.c.preemptions.Add(1)
	}
	for _, s := range p.Exhausted {
		e.finish(s.req, FinishLength, nil)
	}
	for _, f := range p.Failed {
		e.finish(f.Seq.req, FinishError, f.Err)
	}
	for _, s := range p.Admitted {
		q := s.req
		e.unqueue(q)
		if q.comp == nil && e.opt.Compressors != nil {
			c, err := e.opt.Compressors.New(q.kv, s.PromptLen, q.r.Compression)
			if err != nil {
				e.abort(q, fmt.Errorf("kv compression: %w", err), p)
				continue
			}
			q.comp = c
		}
	}
}

// abort drops q from the scheduler and from p's work, finishing it with err.
func (e *Engine) abort(q *request, err error, p *Plan) {
	for i, w := range p.Work {
		if w.Seq == q.seq {
			p.Work = append(p.Work[:i], p.Work[i+1:]...)
			break
		}
	}
	e.sched.Abort(q.seq)
	e.finish(q, FinishError, err)
}

// step runs one forward pass over work and handles its results.
func (e *Engine) step(work []Work) {
	e.cur = work
	b := e.buildBatch(work)
	logits, err := e.r.Forward(b)
	e.cur = nil
	if err == nil {
		for _, w := range work {
			if err = w.Seq.req.kv.Err(); err != nil {
				break
			}
		}
	}
	if err != nil { // the batch's caches may be half written: drop them all
		for _, w := range work {
			e.sched.Abort(w.Seq)
			e.finish(w.Seq.req, FinishError, fmt.Errorf("forward: %w", err))
		}
		return
	}
	vocab, row := e.m.Config.Vocab, 0
	for _, w := range work {
		q := w.Seq.req
		e.sched.Advance(w)
		q.usage.KVPeakBytes = max(q.usage.KVPeakBytes, q.kv.Bytes())
		if w.Sample {
			e.emit(q, logits[row*vocab:(row+1)*vocab])
			row++
		}
		if _, live := e.live[w.Seq]; live && q.comp != nil {
			e.compress(q)
		}
	}
}

// buildBatch lays out work as one batch: each sequence's tokens at their
// positions, one span each, logits for the chunks that end in a sample.
func (e *Engine) buildBatch(work []Work) *model.Batch {
	b := &e.batch
	b.Tokens, b.Pos, b.Spans, b.Logits = b.Tokens[:0], b.Pos[:0], b.Spans[:0], b.Logits[:0]
	for _, w := range work {
		start := len(b.Tokens)
		b.Tokens = append(b.Tokens, w.Seq.Tokens[w.Start:w.Start+w.N]...)
		for i := range w.N {
			b.Pos = append(b.Pos, int32(w.Start+i))
		}
		b.Spans = append(b.Spans, model.Span{KV: w.Seq.req.kv, Start: start, End: start + w.N})
		if w.Sample {
			b.Logits = append(b.Logits, start+w.N-1)
		}
	}
	return b
}

// tap hands each sequence's pre-RoPE queries to its compressor.
func (e *Engine) tap(layer int, pos []int32, q, _ []float32) {
	qd := e.m.Config.Heads * e.m.Config.HeadDim
	for i, w := range e.cur {
		if c := w.Seq.req.comp; c != nil {
			sp := e.batch.Spans[i]
			c.Record(layer, pos[sp.Start:sp.End], q[sp.Start*qd:sp.End*qd])
		}
	}
}

// emit samples q's next token from logits, streams it and applies the stop rules.
func (e *Engine) emit(q *request, logits []float32) {
	id := q.sampler.Sample(logits, q.seq.Tokens)
	ev := Event{}
	if q.r.Logprobs {
		var tl TokenLogprob
		tl, e.lpBuf = logprobs(logits, id, q.r.TopLogprobs, e.m.Tokenizer.TokenBytes, e.lpBuf)
		ev.Tokens = []TokenLogprob{tl}
	}
	now := time.Now()
	if q.gen == 0 {
		e.c.prompt.Add(int64(q.seq.PromptLen))
		if e.opt.OnFirstToken != nil {
			e.opt.OnFirstToken(now.Sub(q.arrival))
		}
	} else if e.opt.OnInterToken != nil {
		e.opt.OnInterToken(now.Sub(q.last))
	}
	q.last = now
	q.seq.Tokens = append(q.seq.Tokens, id)
	q.gen++
	e.c.gen.Add(1)
	eog := !q.r.IgnoreEOS && e.m.Tokenizer.IsEOG(id)
	final := eog || q.gen >= q.r.MaxTokens
	piece := ""
	if !eog {
		piece = q.dec.Write(id)
	}
	if final {
		piece += q.dec.Flush()
	}
	text, stopped := q.stops.push(piece)
	switch {
	case stopped || eog:
		e.sched.Finish(q.seq)
		e.finishWith(q, ev, text, FinishStop, nil)
	case final:
		e.sched.Finish(q.seq)
		e.finishWith(q, ev, text+q.stops.flush(), FinishLength, nil)
	default:
		ev.Text = text
		q.out.push(ev)
	}
}

// compress runs q's compressor after a step and books what it freed.
func (e *Engine) compress(q *request) {
	r, err := q.comp.AfterStep()
	if err != nil {
		e.sched.Abort(q.seq)
		e.finish(q, FinishError, fmt.Errorf("kv compression: %w", err))
		return
	}
	if r.Evicted == 0 && r.BlocksFreed == 0 && r.Total == 0 {
		return
	}
	ev := r.Evicted / e.tables
	q.usage.KVTokensEvicted += ev
	q.usage.KVBlocksFreed += r.BlocksFreed
	e.c.evicted.Add(int64(ev))
	e.c.reclaimed.Add(int64(r.BlocksFreed))
	e.c.compactionNanos.Add(int64(r.Compaction))
	e.c.rounds.Add(1)
}

// finish ends a request that left the scheduler: it flushes held text (not
// for errors and cancellations) and sends the final event.
func (e *Engine) finish(q *request, reason string, err error) {
	text := ""
	if reason == FinishLength && q.dec != nil {
		text, _ = q.stops.push(q.dec.Flush())
		text += q.stops.flush()
	}
	e.finishWith(q, Event{}, text, reason, err)
}

// finishWith sends the final event of q with the given text.
func (e *Engine) finishWith(q *request, ev Event, text, reason string, err error) {
	e.unqueue(q)
	delete(e.live, q.seq)
	u := q.usage
	u.PromptTokens, u.CompletionTokens, u.Preemptions = q.seq.PromptLen, q.gen, q.seq.Preemptions
	ev.Text, ev.Finish, ev.Usage, ev.Err = text, reason, &u, err
	q.out.push(ev)
}

// unqueue takes q out of the count that --max-queue bounds, once.
func (e *Engine) unqueue(q *request) {
	if !q.admitted {
		q.admitted = true
		e.queued.Add(-1)
	}
}
