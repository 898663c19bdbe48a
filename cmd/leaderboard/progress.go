package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressEvery is how often, at most, progress is printed as a line where w is not a
// terminal (a pipe, a file, a CI log).
const progressEvery = 5 * time.Second

// newProgress returns a progress callback for work described as desc. On a terminal it
// draws a live bar on w; elsewhere (a pipe or a file) it prints a plain line at most
// every progressEvery, so a log holds a few lines rather than one per update.
func newProgress(w io.Writer, desc string) (update func(done, total int64), finish func()) {
	if isTerminal(w) {
		return newProgressBar(w, desc)
	}
	return newProgressLines(w, desc, progressEvery, time.Now)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgressBar draws a bar on w. The bar's clock starts now, but it is drawn from the
// first update, which gives the total: work done before that update counts towards the
// rate instead of showing as a jump at an absurd speed.
func newProgressBar(w io.Writer, desc string) (update func(done, total int64), finish func()) {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
	sized := false
	update = func(done, total int64) {
		if !sized {
			bar.ChangeMax64(total)
			sized = true
		}
		bar.Set64(done)
	}
	finish = func() {
		if sized {
			bar.Finish()
		}
	}
	return update, finish
}

// newProgressLines prints "desc: done/total rows (p%), r rows/s" on w at most once per
// every, the first time only after every has passed (work shorter than that prints
// nothing), and nothing at finish: the command's own summary line follows.
func newProgressLines(w io.Writer, desc string, every time.Duration, now func() time.Time) (update func(done, total int64), finish func()) {
	start := now()
	last := start
	update = func(done, total int64) {
		t := now()
		if t.Sub(last) < every {
			return
		}
		last = t
		rate := float64(done) / t.Sub(start).Seconds()
		if total > 0 {
			fmt.Fprintf(w, "%s: %d/%d rows (%.0f%%), %.0f rows/s\n", desc, done, total, 100*float64(done)/float64(total), rate)
		} else {
			fmt.Fprintf(w, "%s: %d rows, %.0f rows/s\n", desc, done, rate)
		}
	}
	return update, func() {}
}

// startCPUProfile writes a CPU profile to path until stop is called; no-op for "".
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
