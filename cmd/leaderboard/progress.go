package main

import (
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/schollz/progressbar/v3"
)

// newProgress returns a progress callback drawing a bar on w. The bar's clock starts now,
// but it is drawn from the first update, which gives the total: work done before that
// update counts towards the rate instead of showing as a jump at an absurd speed.
func newProgress(w io.Writer, desc string) (update func(done, total int64), finish func()) {
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
