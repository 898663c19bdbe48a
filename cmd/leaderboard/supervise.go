package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// supervisor runs a node's parts (worker, API, store sweeper) as services with an
// explicit start, run and stop: each part runs until the node's context ends. A part
// that returns before that has died: it is logged at once, the node turns not ready,
// and the other parts are stopped, so the process exits with the part's error rather
// than serving frozen standings (fail fast; a supervisor such as systemd or Kubernetes
// restarts it).
type supervisor struct {
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	dead   atomic.Bool
	mu     sync.Mutex
	err    error // the first part's death
}

func newSupervisor(ctx context.Context, log *slog.Logger) *supervisor {
	ctx, cancel := context.WithCancelCause(ctx)
	return &supervisor{log: log, ctx: ctx, cancel: cancel}
}

// start runs part name in its own goroutine; done (may be nil) runs after it returns.
func (s *supervisor) start(name string, run func(ctx context.Context) error, done func()) {
	s.wg.Go(func() {
		if done != nil {
			defer done()
		}
		err := run(s.ctx)
		if s.ctx.Err() == nil {
			if err == nil {
				err = errors.New("stopped on its own")
			}
			s.fail(fmt.Errorf("%s: %w", name, err))
			return
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("node part failed while stopping", "part", name, "err", err)
			s.record(fmt.Errorf("%s: %w", name, err))
		}
	})
}

func (s *supervisor) record(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// fail marks the node dead, logs why at once, and stops every part.
func (s *supervisor) fail(err error) {
	s.dead.Store(true)
	s.log.Error("node part died; the node is not ready and stops", "err", err)
	s.record(err)
	s.cancel(err)
}

// alive reports that no part has died.
func (s *supervisor) alive() bool { return !s.dead.Load() }

// wait blocks until every part has returned and reports the first part's death.
func (s *supervisor) wait() error {
	s.wg.Wait()
	s.cancel(nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
