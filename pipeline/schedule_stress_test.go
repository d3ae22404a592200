package pipeline

// A randomized test of budgets shared by stages: two or three stages, in a
// chain or side by side, keyed or not, in input order or not, with rates,
// retries, WithNotStarted, a graceful cancel or a Stop, three runs in a row
// on one budget. Each run must end, and leave the budget as it found it:
// nothing running, nothing handed out, nobody waiting.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func leftInBudget(b *Budget) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	msg := ""
	if b.running != 0 || b.reserved != 0 || len(b.waiting) != 0 || len(b.stages) != 0 {
		msg += fmt.Sprintf("running=%d reserved=%d waiting=%d stages=%d; ", b.running, b.reserved, len(b.waiting), len(b.stages))
	}
	for name, k := range b.keys {
		if k.running != 0 || k.reserved != 0 || len(k.waiters) != 0 || k.users != 0 {
			msg += fmt.Sprintf("key %q running=%d reserved=%d waiters=%d users=%d; ", name, k.running, k.reserved, len(k.waiters), k.users)
		}
	}
	return msg
}

type stressJob struct {
	key   string
	takes time.Duration
	fails int
}

func stressRun(t *testing.T, seed uint64, b *Budget, r *rand.Rand) (hung bool, desc string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := New(ctx)
	nStages := 2 + r.IntN(2)
	keyed := r.IntN(2) == 0
	chain := r.IntN(2) == 0
	var outs []Stream[stressJob]
	var prev Stream[stressJob]
	var total atomic.Int64
	for i := range nStages {
		var opts []Option
		opts = append(opts, WithBudget(b))
		if keyed {
			opts = append(opts, WithKey(func(j stressJob) string { return j.key }))
		}
		ordered := r.IntN(2) == 0
		if ordered {
			opts = append(opts, WithInputOrder())
		}
		if r.IntN(2) == 0 {
			opts = append(opts, WithBuffer(0))
		}
		ns := r.IntN(2) == 0
		if ns {
			opts = append(opts, WithNotStarted(func(j stressJob) stressJob { return j }))
		}
		desc += fmt.Sprintf("[stage%d ordered=%v notStarted=%v] ", i, ordered, ns)
		n := 1 + r.IntN(20)
		jobs := make([]stressJob, n)
		for j := range jobs {
			jobs[j] = stressJob{key: string(rune('a' + r.IntN(3))), takes: time.Duration(r.IntN(5)) * time.Millisecond, fails: r.IntN(3) / 2}
		}
		var in Stream[stressJob]
		if chain && i > 0 {
			in = Merge(prev, FromSlice(p, jobs))
		} else {
			in = FromSlice(p, jobs)
		}
		out := Schedule(in, func(_ context.Context, t *Task[stressJob]) (stressJob, error) {
			time.Sleep(t.Value.takes)
			if t.Try <= t.Value.fails {
				t.Retry(time.Duration(backoffOf(seed, t.Seq)) * time.Millisecond)
			}
			return t.Value, nil
		}, opts...)
		if chain {
			prev = out
		} else {
			outs = append(outs, out)
		}
	}
	if chain {
		outs = []Stream[stressJob]{prev}
	}
	desc += fmt.Sprintf("keyed=%v chain=%v", keyed, chain)
	switch r.IntN(4) {
	case 0:
		time.AfterFunc(time.Duration(r.IntN(10))*time.Millisecond, cancel)
		desc += " cancel"
	case 1:
		time.AfterFunc(time.Duration(r.IntN(10))*time.Millisecond, p.Stop)
		desc += " stop"
	}
	done := make(chan struct{})
	go func() {
		for range Merge(outs...).Chan() {
			total.Add(1)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Hour):
		hung = true
		dumpBudget(t, b)
		p.Stop()
		<-done
	}
	p.Wait()
	return hung, desc
}

func backoffOf(seed uint64, seq int64) int { return int((seed*31 + uint64(seq)*17) % 4) }

func TestScheduleStress(t *testing.T) {
	seeds := uint64(300)
	if testing.Short() {
		seeds = 30
	}
	for seed := range seeds {
		synctest.Test(t, func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			var perKey func(string) Limits
			var bdesc string
			switch r.IntN(3) {
			case 0:
			case 1:
				perKey = func(string) Limits { return Limits{InFlight: 1} }
				bdesc = "perKey 1"
			case 2:
				kin := 1 + r.IntN(2)
				perKey = func(string) Limits { return Limits{InFlight: kin, Rate: 200} }
				bdesc = "perKey rate"
			}
			overall := Limits{InFlight: 1 + r.IntN(3)}
			if r.IntN(4) == 0 {
				overall.Rate = 500
			}
			b := NewBudget(overall, perKey)
			for run := range 3 {
				hung, desc := stressRun(t, seed, b, r)
				if hung {
					t.Errorf("seed %d run %d hung: %+v %s %s", seed, run, overall, bdesc, desc)
					return
				}
				time.Sleep(time.Second) // let idle keys' limiters refill
				if msg := leftInBudget(b); msg != "" {
					t.Errorf("seed %d run %d: budget left %s (%+v %s %s)", seed, run, msg, overall, bdesc, desc)
					return
				}
			}
		})
	}
}

func dumpBudget(t *testing.T, b *Budget) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t.Logf("budget running=%d reserved=%d waiting=%d", b.running, b.reserved, len(b.waiting))
	for name, k := range b.keys {
		t.Logf(" bkey %q running=%d reserved=%d waiters=%d users=%d lim=%v", name, k.running, k.reserved, len(k.waiters), k.users, k.lim != nil)
	}
	for i, st := range b.stages {
		s := st.(*sched[stressJob, stressJob])
		t.Logf(" stage %d %p: held=%d inOpen=%v canceled=%v workers=%d idle=%d looking=%d granted=%d runnable=%d timers=%d emitting=%v ready=%d memDone=%d",
			i, s, s.held, s.inOpen, s.canceled, s.workers, s.idle, s.looking, s.granted, len(s.runnable), len(s.timers), s.emitting, len(s.ready), s.memDone)
		for name, k := range s.keys {
			t.Logf("   key %q queue=%d running=%d backoff=%d sleeping=%v runnable=%v waiting=%v granted=%d", name, len(k.queue), k.running, k.backoff, k.sleeping, k.runnable, k.waiting, k.granted)
		}
	}
}
