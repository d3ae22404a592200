package pipeline

// reorder holds the finished items of a stage in input order until their
// turn: a ring of a place per item of the window, grown as the window
// fills, and, for items beyond it (only when a Spill lets the stage read
// past its window), a map.
type reorder[In, Out any] struct {
	ring    []*item[In, Out]
	next    int64 // the Seq of the item whose turn it is
	far     map[int64]*item[In, Out]
	spilled map[int64]spillRef // results in the spill, by Seq
	window  int
}

// init sets the window. The ring starts small, so that a stage with a
// huge concurrency costs only what it uses.
func (r *reorder[In, Out]) init(window int) {
	r.window = window
	r.ring = make([]*item[In, Out], min(window, 64))
}

func (r *reorder[In, Out]) put(it *item[In, Out]) {
	seq := it.task.Seq
	for seq-r.next >= int64(len(r.ring)) && len(r.ring) < r.window {
		r.grow()
	}
	if seq-r.next < int64(len(r.ring)) {
		r.ring[seq%int64(len(r.ring))] = it
		return
	}
	if r.far == nil {
		r.far = make(map[int64]*item[In, Out])
	}
	r.far[seq] = it
}

// grow doubles the ring, up to the window.
func (r *reorder[In, Out]) grow() {
	old := r.ring
	r.ring = make([]*item[In, Out], min(2*len(old), r.window))
	for _, it := range old {
		if it != nil {
			r.ring[it.task.Seq%int64(len(r.ring))] = it
		}
	}
}

// putSpilled keeps the place of a result in the spill; only the place, so
// that a spilled result costs a few dozen bytes of memory.
func (r *reorder[In, Out]) putSpilled(seq int64, ref spillRef) {
	if r.spilled == nil {
		r.spilled = make(map[int64]spillRef)
	}
	r.spilled[seq] = ref
}

// ready reports whether the result whose turn it is is done.
func (r *reorder[In, Out]) ready() bool {
	if r.ring[r.next%int64(len(r.ring))] != nil {
		return true
	}
	_, ok := r.spilled[r.next]
	return ok
}

// take removes the head, done, and moves the turn on: an item, or the
// place of a spilled result.
func (r *reorder[In, Out]) take() (*item[In, Out], spillRef) {
	n := int64(len(r.ring))
	it := r.ring[r.next%n]
	r.ring[r.next%n] = nil
	var ref spillRef
	if it == nil {
		ref = r.spilled[r.next]
		delete(r.spilled, r.next)
		if len(r.spilled) == 0 {
			r.spilled = nil // a map never shrinks: let it go
		}
	}
	r.next++
	if len(r.far) > 0 {
		last := r.next + n - 1 // the place just freed now stands for it
		if f, ok := r.far[last]; ok {
			delete(r.far, last)
			r.ring[last%n] = f
		}
		if len(r.far) == 0 {
			r.far = nil
		}
	}
	return it, ref
}

// readyToEmit reports whether a result may be handed on now. Called with
// b.mu held.
func (s *sched[In, Out]) readyToEmit() bool {
	if s.ordered {
		return s.order.ready()
	}
	return len(s.ready) > 0
}

// takeReady takes the next result to hand on: an item, or the place of a
// spilled result; ok is false when there is none. Called with b.mu held.
func (s *sched[In, Out]) takeReady() (it *item[In, Out], ref spillRef, ok bool) {
	if s.ordered {
		if !s.order.ready() {
			return nil, ref, false
		}
		it, ref = s.order.take()
		if it != nil {
			s.memDone--
		}
		return it, ref, true
	}
	if len(s.ready) == 0 {
		return nil, ref, false
	}
	it = s.ready[0]
	s.ready[0] = nil
	s.ready = s.ready[1:]
	if len(s.ready) == 0 {
		s.ready = s.ready[:0:0]
	}
	return it, ref, true
}

// emitReady hands on the results that are ready, in turn, by the one
// goroutine that set s.emitting; it clears it when nothing is left. It
// returns false when the run was aborted. Called without b.mu held.
func (s *sched[In, Out]) emitReady() bool {
	b := s.b
	b.mu.Lock()
	for {
		it, ref, ok := s.takeReady()
		if !ok {
			s.emitting = false
			b.mu.Unlock()
			return true
		}
		if it != nil && !it.notStarted && s.offer != nil && s.offer(it.out) {
			s.handedOn() // handed on without waiting, so under the lock
			continue
		}
		s.dropGrants() // about to block downstream: hold no slot meanwhile
		b.mu.Unlock()
		var out Out
		switch {
		case it == nil:
			var err error
			if out, err = s.spill.read(ref); err != nil {
				s.p.Fail(err)
				return false
			}
		case it.notStarted:
			out = s.notStarted(it.task.Value)
		default:
			out = it.out
		}
		if !s.deliver(out) {
			return false
		}
		b.mu.Lock()
		if it != nil { // a spilled result had stopped counting
			s.handedOn()
		}
	}
}

// deposit keeps the result of it until its turn, in memory or, past the
// window, in the spill file; and hands on what is ready if nobody else is
// doing so. Called with b.mu held, which it holds again when it returns
// true; false means the run was aborted.
func (s *sched[In, Out]) deposit(it *item[In, Out]) bool {
	b := s.b
	if s.spill != nil && it.task.Seq != s.order.next &&
		(s.memDone >= s.window/2 || it.task.Seq-s.order.next >= int64(s.window)) {
		// Encoding and writing take time, and Encode is the user's code:
		// neither under the lock. The item is in no list meanwhile, so
		// the turn cannot pass it.
		b.mu.Unlock()
		ref, ok, err := s.spill.write(it.out)
		if err != nil {
			s.p.Fail(err)
			return false
		}
		b.mu.Lock()
		if ok {
			s.order.putSpilled(it.task.Seq, ref)
			s.handedOn() // its memory is given back: only its place is kept
			return s.emitIfIdle()
		}
	}
	s.order.put(it)
	s.memDone++
	return s.emitIfIdle()
}

// emitIfIdle hands on what is ready if no other goroutine is doing so.
// Called with b.mu held, which it holds again when it returns true.
func (s *sched[In, Out]) emitIfIdle() bool {
	if s.emitting || !s.readyToEmit() {
		return true
	}
	s.emitting = true
	s.b.mu.Unlock()
	s.report()
	if !s.emitReady() {
		return false
	}
	s.b.mu.Lock()
	return true
}
