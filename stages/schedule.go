package stages

import (
	"container/heap"
	"context"
	"time"

	"github.com/sourcegraph/conc"
	"github.com/sourcegraph/conc/panics"
	"golang.org/x/time/rate"
)

// A job is an item on its way through Fetch: its request, the record being
// built, and where it stands in the schedule.
type job struct {
	req        Request
	method     string // the method the request is made with, for the retry policy
	rec        Record
	host       *hostState
	idx        int64     // arrival position, for input order
	first      time.Time // when its first attempt started
	retryAfter time.Duration
	panic      error // a panic in its attempt, which ends the run
}

// schedule runs Fetch when requests must wait for something other than a
// free slot: a per-host limit, a rate limit, or a retry's backoff.
//
// One goroutine, the dispatcher, owns all the state; a fixed set of workers,
// one per slot of the concurrency limit, makes the attempts. Throttling is
// a question the dispatcher asks ("may this host start now, and if not, how
// long until it may?") rather than a wait a worker sits in, so a saturated
// or rate-limited host never holds a slot that another host could use, and
// a job waiting out a backoff holds no slot at all.
//
// The dispatcher holds at most window items (queued, running, in backoff or
// done but not yet emitted): when it is full it stops reading its input, so
// backpressure still reaches the source and memory stays bounded.
type schedule struct {
	f       *fetcher
	global  int // requests in flight at most
	perHost int // per host; 0 for no limit
	window  int
	ordered bool

	lim      *rate.Limiter // overall start rate; nil for none
	hostRate rate.Limit    // per-host start rate; 0 for none
	burst    int
	retry    retryPolicy

	hosts    map[string]*hostState
	shared   *hostState   // the one host state when nothing is per host
	runnable []*hostState // hosts that can start a job, in turn
	events   events
	wake     time.Time // when the overall limiter has a token again

	running   int
	held      int
	peakHosts int // the most hosts remembered at once, for tests
	nextIdx   int64
	ready     []Record         // done, in arrival order
	reorder   map[int64]Record // done, waiting for earlier items (input order)
	nextOut   int64
	canceled  bool
}

func newSchedule(f *fetcher) *schedule {
	s := f.settings
	global := s.concurrencyOr(DefaultConcurrency)
	sc := &schedule{
		f:        f,
		global:   global,
		perHost:  s.perHost,
		window:   max(2*global, global+64),
		ordered:  s.ordered,
		hostRate: s.hostRate,
		burst:    max(s.burst, 1),
		retry:    newRetryPolicy(s.retryStatuses, s.retryKinds),
		hosts:    make(map[string]*hostState),
	}
	if s.rate > 0 {
		sc.lim = rate.NewLimiter(s.rate, sc.burst)
	}
	if sc.perHost == 0 && sc.hostRate == 0 {
		sc.shared = &hostState{}
	}
	if sc.ordered {
		sc.reorder = make(map[int64]Record)
	}
	return sc
}

// run is the dispatcher, as a pipeline.Process function.
func (s *schedule) run(ctx context.Context, in <-chan Request, emit func(Record) bool) error {
	jobs := make(chan *job, s.global)
	done := make(chan *job, s.global)
	// The workers' context ends when the dispatcher returns, so that on an
	// error the attempts still in flight stop at once instead of running to
	// their time limits before the run can report it.
	wctx, stop := context.WithCancel(ctx)
	var workers conc.WaitGroup
	for range s.global {
		workers.Go(func() {
			for j := range jobs {
				// A panic here (in a user's RoundTripper, say) must end the
				// run as an error; a job that never came back would leave
				// the dispatcher waiting for it for ever.
				if r := panics.Try(func() { s.f.try(wctx, j) }); r != nil {
					j.panic = r.AsError()
				}
				done <- j
			}
		})
	}
	defer func() {
		stop()
		close(jobs)
		workers.Wait()
	}()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	ctxDone := ctx.Done()
	inOpen := true
	for {
		now := time.Now()
		s.fire(now)
		s.dispatch(now, jobs)
		if !s.emit(emit) {
			return nil // the run was aborted
		}
		if !inOpen && s.held == 0 {
			return nil
		}
		var input <-chan Request
		if inOpen && s.held < s.window {
			input = in
		}
		var alarm <-chan time.Time
		if at, ok := s.nextWake(); ok {
			timer.Reset(max(time.Until(at), 0))
			alarm = timer.C
		}
		select {
		case req, ok := <-input:
			inOpen = s.received(req, ok)
		case j := <-done:
			if err := s.returned(j, time.Now()); err != nil {
				return err
			}
		case <-alarm:
		case <-ctxDone:
			ctxDone = nil
			s.cancel()
		}
		if alarm != nil {
			timer.Stop()
		}
		// Take whatever else is ready before dispatching: waking the
		// dispatcher costs more than handling an event, so each wake-up
		// should handle all there is.
		if err := s.drain(in, &inOpen, done); err != nil {
			return err
		}
	}
}

// drain takes in the finished jobs and the new items that are ready,
// without waiting for any. It returns a job's panic, which ends the run.
func (s *schedule) drain(in <-chan Request, inOpen *bool, done <-chan *job) error {
	now := time.Now()
	for {
		select {
		case j := <-done:
			if err := s.returned(j, now); err != nil {
				return err
			}
			continue
		default:
		}
		if !*inOpen || s.held >= s.window {
			return nil
		}
		select {
		case req, ok := <-in:
			*inOpen = s.received(req, ok)
		default:
			return nil
		}
	}
}

// received takes in what the input gave, and reports whether it is still
// open.
func (s *schedule) received(req Request, ok bool) bool {
	if ok {
		s.admit(req)
	}
	return ok
}

// returned takes back a job from its worker. A panic in its attempt ends
// the run.
func (s *schedule) returned(j *job, now time.Time) error {
	if j.panic != nil {
		return j.panic
	}
	s.finish(j, now)
	return nil
}

// admit takes a new item in.
func (s *schedule) admit(req Request) {
	j := &job{req: req, idx: s.nextIdx, rec: newRecord(req)}
	s.nextIdx++
	s.held++
	switch {
	case req.Err != nil:
		s.complete(j)
		return
	case s.canceled:
		j.rec.Err = errNotSent
		s.complete(j)
		return
	}
	j.method = s.f.method
	if req.Method != "" {
		j.method = normalMethod(req.Method)
	}
	if s.lim != nil || s.hostRate > 0 {
		// A rate counts requests started: find out now what can never
		// start, rather than spend a token on it.
		if bad := checkURL(req.URL, j.rec.URL); bad != nil {
			j.rec.Err = bad
			s.complete(j)
			return
		}
	}
	j.host = s.host(req.URL)
	j.host.push(j)
	s.markRunnable(j.host)
}

// host returns the state of the host of url, creating it if need be.
func (s *schedule) host(url string) *hostState {
	if s.shared != nil {
		return s.shared
	}
	key := hostKey(url)
	h := s.hosts[key]
	if h == nil {
		h = &hostState{key: key}
		if s.hostRate > 0 {
			h.lim = rate.NewLimiter(s.hostRate, s.burst)
		}
		s.hosts[key] = h
		s.peakHosts = max(s.peakHosts, len(s.hosts))
	}
	return h
}

// canStart reports whether h has a job queued and a free slot.
func (s *schedule) canStart(h *hostState) bool {
	return len(h.queue) > 0 && !h.sleeping && (s.perHost == 0 || h.running < s.perHost)
}

func (s *schedule) markRunnable(h *hostState) {
	if !h.runnable && s.canStart(h) {
		h.runnable = true
		s.runnable = append(s.runnable, h)
	}
}

// dispatch starts jobs while there are free slots, runnable hosts and
// tokens, taking the hosts in turn so that none starves the others.
func (s *schedule) dispatch(now time.Time, jobs chan<- *job) {
	s.wake = time.Time{} // set again below if the overall limiter says to wait
	for s.running < s.global && len(s.runnable) > 0 && !s.canceled {
		if s.lim != nil && !hasToken(s.lim, now) {
			s.wake = now.Add(waitFor(s.lim, now))
			return
		}
		h := s.runnable[0]
		s.runnable[0] = nil
		s.runnable = s.runnable[1:]
		h.runnable = false
		if !s.canStart(h) {
			continue
		}
		if h.lim != nil {
			if d := waitFor(h.lim, now); d > 0 {
				h.sleeping = true
				s.events.add(event{at: now.Add(d), host: h})
				continue
			}
		}
		if s.lim != nil {
			s.lim.AllowN(now, 1) // hasToken said there is one
		}
		j := h.pop()
		h.running++
		s.running++
		jobs <- j // never blocks: the channel has a slot per worker
		s.markRunnable(h)
	}
	if len(s.runnable) == 0 {
		s.runnable = nil
	}
}

// finish takes back a job whose attempt ended: it is retried later, or it
// is done.
func (s *schedule) finish(j *job, now time.Time) {
	h := j.host
	h.running--
	s.running--
	if !s.canceled && j.rec.Attempts <= s.f.retries && s.retry.wants(&j.rec, j.method, s.f.retryUnsafe) {
		h.waiting++
		s.events.add(event{at: now.Add(backoff(j.rec.Attempts, j.retryAfter, s.f.maxRetryWait)), job: j})
	} else {
		s.complete(j)
	}
	s.markRunnable(h)
	s.forget(h, now)
}

// fire handles the events that are due.
func (s *schedule) fire(now time.Time) {
	for {
		ev, ok := s.events.due(now)
		if !ok {
			return
		}
		switch h := ev.host; {
		case ev.job != nil:
			jh := ev.job.host
			jh.waiting--
			jh.pushFront(ev.job)
			s.markRunnable(jh)
		case h.sleeping:
			h.sleeping = false
			s.markRunnable(h)
			s.forget(h, now)
		default:
			s.forget(h, now)
		}
	}
}

// forget drops an idle host's state, once its limiter has nothing left to
// remember; until then, an event comes back to check.
func (s *schedule) forget(h *hostState, now time.Time) {
	if h == s.shared || !h.idle() || s.hosts[h.key] != h {
		return
	}
	if h.lim != nil {
		if full := refilled(h.lim, now); full.After(now) {
			s.events.add(event{at: full, host: h})
			return
		}
	}
	delete(s.hosts, h.key)
}

// nextWake returns when the dispatcher must next look at the clock.
func (s *schedule) nextWake() (time.Time, bool) {
	at, ok := s.events.next()
	if !s.wake.IsZero() && len(s.runnable) > 0 && (!ok || s.wake.Before(at)) {
		return s.wake, true
	}
	return at, ok
}

// cancel ends the schedule's waiting when the run's context ends: queued
// jobs are done without being sent, and jobs in backoff keep the outcome of
// their last attempt. Jobs running are cancelled by the context itself.
func (s *schedule) cancel() {
	s.canceled = true
	each := func(h *hostState) {
		for len(h.queue) > 0 {
			j := h.pop()
			if j.rec.Attempts == 0 {
				j.rec.Err = errNotSent
			} // else a retry that was due: it keeps its last outcome, as in backoff
			s.complete(j)
		}
	}
	if s.shared != nil {
		each(s.shared)
	}
	for _, h := range s.hosts {
		each(h)
	}
	kept := s.events[:0]
	for _, ev := range s.events {
		if ev.job != nil {
			ev.job.host.waiting--
			s.complete(ev.job)
			continue
		}
		kept = append(kept, ev)
	}
	s.events = kept
	heap.Init(&s.events)
	s.runnable = nil
}

// complete makes j's record ready to emit.
func (s *schedule) complete(j *job) {
	if s.ordered {
		s.reorder[j.idx] = j.rec
		return
	}
	s.ready = append(s.ready, j.rec)
}

// emit hands on the records that are ready, in the order asked for. It
// returns false if the run was aborted.
func (s *schedule) emit(emit func(Record) bool) bool {
	if s.ordered {
		for {
			r, ok := s.reorder[s.nextOut]
			if !ok {
				return true
			}
			delete(s.reorder, s.nextOut)
			s.nextOut++
			s.held--
			if !emit(r) {
				return false
			}
		}
	}
	for i, r := range s.ready {
		s.ready[i] = Record{}
		s.held--
		if !emit(r) {
			return false
		}
	}
	s.ready = s.ready[:0]
	return true
}
