package aerospikesink

import (
	"sync"
	"time"
)

// Breaker states, as the leaderboard_aerospike_breaker_state gauge shows them.
const (
	breakerClosed   = 0 // batches go through
	breakerOpen     = 1 // every call fails fast with ErrUnavailable until the cool-down ends
	breakerHalfOpen = 2 // the cool-down ended: the next batch is a probe
)

// breaker opens after `failures` consecutive failed batches and stays open for `cooldown`;
// then it lets batches try again (half open): the first success closes it, a failure
// opens it for another cool-down. now is the clock (injected for tests).
type breaker struct {
	failures int
	cooldown time.Duration
	now      func() time.Time
	onChange func(state int)

	mu        sync.Mutex
	state     int
	run       int // consecutive failed batches
	openUntil time.Time
}

func newBreaker(failures int, cooldown time.Duration, now func() time.Time, onChange func(int)) *breaker {
	b := &breaker{failures: failures, cooldown: cooldown, now: now, onChange: onChange}
	onChange(breakerClosed)
	return b
}

// allow reports whether a call may go to the server now, and if not, until when it
// fails fast.
func (b *breaker) allow() (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == breakerOpen {
		if b.now().Before(b.openUntil) {
			return false, b.openUntil
		}
		b.set(breakerHalfOpen)
	}
	return true, time.Time{}
}

// success records a batch the server answered.
func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.run = 0
	if b.state != breakerClosed {
		b.set(breakerClosed)
	}
}

// failure records a batch the server could not answer (after its retries); it reports
// whether that opened the breaker.
func (b *breaker) failure() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.run++
	if b.state == breakerHalfOpen || (b.state == breakerClosed && b.run >= b.failures) {
		b.openUntil = b.now().Add(b.cooldown)
		b.set(breakerOpen)
		return true
	}
	return false
}

func (b *breaker) set(s int) {
	b.state = s
	b.onChange(s)
}

func (b *breaker) current() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// available reports whether a call would go to the server now: not while the breaker is
// open and its cool-down runs. It changes no state (allow moves an ended cool-down to
// half open).
func (b *breaker) available() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state != breakerOpen || !b.now().Before(b.openUntil)
}

// Available reports whether a write can go through now: false while the circuit breaker
// is open (every call would fail fast with ErrUnavailable until its cool-down ends), so
// a caller can skip preparing records it could not write. True does not promise that the
// write succeeds: a half-open breaker lets the next batch probe the cluster.
func (s *Sink) Available() bool { return s.br.available() }
