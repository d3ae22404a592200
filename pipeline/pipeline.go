package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/sourcegraph/conc"
	"github.com/sourcegraph/conc/panics"
)

// errStopped is the cancellation cause when a consumer leaves early: it is
// not an error of the run, so Wait never returns it.
var errStopped = errors.New("pipeline: stopped by its consumer")

// A Pipeline is the scope of one run: every stage started on it runs in a
// goroutine it owns, and Wait returns only when all of them have ended.
//
// A run ends in one of four ways:
//   - its sources run dry and every stage drains: Wait returns nil;
//   - the context given to New is cancelled: sources stop reading, but what
//     they had already read still flows through every stage to the sink, so
//     no item is lost; Wait returns the context's cause;
//   - a source fails (its input cannot be read): it stops, what it had read
//     still drains to the sink, and Wait returns its error;
//   - a fatal error (a stage function returned an error or panicked, a sink
//     failed) or Stop: every goroutine returns at once, dropping items in
//     flight; Wait returns the error (nil after Stop).
//
// A Pipeline is used for a single run and must not be reused.
type Pipeline struct {
	produced atomic.Int64 // values the sources handed on

	parent context.Context
	ctx    context.Context
	cancel context.CancelCauseFunc

	// stageCtx is what stage functions and sinks get: it outlives a
	// graceful cancel, so that the drain can still write to a database or
	// a file, and ends only when the run is aborted or over.
	stageCtx    context.Context
	stageCancel context.CancelCauseFunc

	// abort is closed on a fatal error or Stop. Every channel operation in
	// the package selects on it, so a stage blocked on a full or empty
	// channel returns at once; cancelling ctx alone must not do that,
	// because stages keep draining after the parent context ends.
	abort     chan struct{}
	abortOnce sync.Once

	wg conc.WaitGroup

	cleanupOnce sync.Once

	mu       sync.Mutex
	cleanups []func()
	err      error // the first fatal error
	cut      bool  // a source stopped reading because the context ended
	stopped  bool  // Stop was called
}

// New returns a Pipeline whose stages see a context derived from ctx.
// Cancelling ctx stops the sources gracefully (see Pipeline).
//
// Stages start as they are built, and a sink (ForEach, All) waits for
// them all. A run that is built but never reaches its sink, such as when
// an error comes up between the two, must be stopped, or its goroutines
// wait for a reader forever: defer p.Stop() right after New is safe, as
// Stop does nothing to a run that has ended.
func New(ctx context.Context) *Pipeline {
	inner, cancel := context.WithCancelCause(ctx)
	stage, stageCancel := context.WithCancelCause(context.WithoutCancel(ctx))
	return &Pipeline{
		parent:      ctx,
		ctx:         inner,
		cancel:      cancel,
		stageCtx:    stage,
		stageCancel: stageCancel,
		abort:       make(chan struct{}),
	}
}

// Context returns the context of the run: it is done when the parent
// context is done (a graceful cancel), on a fatal error, after Stop, and
// after Wait. Sources stop reading when it is done. Stage functions and
// sinks get another context, which stays usable while what was read drains
// and ends only when the run is aborted or over; a stage that should cut
// long work short on a graceful cancel watches this one too.
func (p *Pipeline) Context() context.Context { return p.ctx }

// Go runs f in a goroutine owned by the pipeline, for stages written by hand
// on top of channels. ctx is the stage context: it ends when the run is
// aborted or over, not on a graceful cancel (see Context). A non-nil error
// from f is fatal for the run, and so is a panic, which becomes an error
// carrying the panic value and stack.
//
// A goroutine that reads a Stream must read it until it is closed, even
// after the run's context is done, selecting on Done beside each send, so
// that a graceful cancel drains; Process does all of this and is usually
// the better choice.
func (p *Pipeline) Go(f func(ctx context.Context) error) {
	p.goWith(p.stageCtx, f)
}

func (p *Pipeline) goWith(ctx context.Context, f func(ctx context.Context) error) {
	p.wg.Go(func() {
		var err error
		if r := panics.Try(func() { err = f(ctx) }); r != nil {
			err = r.AsError()
		}
		if err != nil {
			p.Fail(err)
		}
	})
}

// Fail ends the run with err as its fatal error: every stage returns at once
// and Wait returns err. Only the first error is kept; later ones are dropped,
// as they are usually consequences of the first.
func (p *Pipeline) Fail(err error) {
	p.failAfterDrain(err)
	p.halt(err)
}

// failAfterDrain makes err the run's error, unless it already has one,
// without aborting it: what is in flight still reaches the sink.
func (p *Pipeline) failAfterDrain(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// Stop ends the run without an error, as a consumer does when it has seen
// enough: every stage returns at once and items in flight are dropped.
func (p *Pipeline) Stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.halt(errStopped)
}

func (p *Pipeline) halt(cause error) {
	p.abortOnce.Do(func() {
		close(p.abort)
		p.cancel(cause)
		p.stageCancel(cause)
	})
}

// Wait blocks until every goroutine of the run has returned, then reports
// how the run ended: the first fatal error; else, if the parent context ended
// the run before a source had read all its input, the context's cause; else
// nil. Wait may be called more than once.
func (p *Pipeline) Wait() error {
	p.wg.Wait()
	p.cancel(context.Canceled) // release the contexts' resources
	p.stageCancel(context.Canceled)
	p.cleanupOnce.Do(p.runCleanups) // a concurrent Wait blocks until they are done
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.err != nil:
		return p.err
	case p.cut && !p.stopped:
		return context.Cause(p.parent)
	}
	return nil
}

// Produced returns how many values the run's sources (Generate and the
// From functions) have handed on so far: the items read from the input,
// for a progress report, or for a count of what a run cut short had read.
// Safe to call from any goroutine.
func (p *Pipeline) Produced() int64 { return p.produced.Load() }

// Cleanup registers f to run when the run has ended: after every goroutine
// of the run has returned, before Wait returns. It is where a stage releases
// what it holds for the whole run, such as a client's idle connections or an
// open file, so that nothing the run started outlives it. Cleanups run once,
// last registered first; a panic in one is a fatal error of the run.
func (p *Pipeline) Cleanup(f func()) {
	p.mu.Lock()
	p.cleanups = append(p.cleanups, f)
	p.mu.Unlock()
}

func (p *Pipeline) runCleanups() {
	p.mu.Lock()
	fs := p.cleanups
	p.cleanups = nil
	p.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		if r := panics.Try(fs[i]); r != nil {
			p.failAfterDrain(r.AsError()) // nothing is left to abort
		}
	}
}

// Done returns a channel that is closed when the run is aborted by a fatal
// error or Stop: when the stage context ends, and not on a graceful cancel,
// which closes Context().Done() while what was read still drains.
// Hand-written stages select on it beside every channel operation, so that
// they never block a run that is shutting down.
func (p *Pipeline) Done() <-chan struct{} { return p.abort }

// aborted reports whether the run was aborted by a fatal error or Stop.
func (p *Pipeline) aborted() bool {
	select {
	case <-p.abort:
		return true
	default:
		return false
	}
}

// markCut records that a source stopped before the end of its input because
// the context was done.
func (p *Pipeline) markCut() {
	p.mu.Lock()
	p.cut = true
	p.mu.Unlock()
}
