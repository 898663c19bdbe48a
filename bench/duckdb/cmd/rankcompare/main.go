// Command rankcompare times the batch job, entries.parquet + points.parquet in and
// ranks out, in `leaderboard rank` and in the tools a Spark user would try next:
// DuckDB (COPY of a window rank()), Polars (rank('min').over) and PySpark (local mode),
// each as a child process of its own, measured whole (wall time and peak RSS). Tools run
// side by side in alternating rounds (the order rotates every round) and every tool's
// output is checked against ours entry by entry (same contest, points and rank).
//
//	rankcompare --in DIR [--leaderboard BIN] [--rounds K] [--tools LIST] [--python PY]
//
// Polars and PySpark run under --python (default: $PYTHON, else /work/venv/bin/python)
// and are skipped, with a message saying how to install them, where they cannot be
// imported. The output ends with one line of JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	duckbench "github.com/fantasy/leaderboard/bench/duckdb"
)

func main() {
	in := flag.String("in", "", "dataset directory holding entries.parquet and points.parquet (required)")
	bin := flag.String("leaderboard", "", "leaderboard binary; empty: build ./cmd/leaderboard of the enclosing repository")
	rounds := flag.Int("rounds", 3, "rounds; each runs every tool once")
	tools := flag.String("tools", "leaderboard,duckdb,polars,pyspark", "tools to run, comma-separated")
	python := flag.String("python", "", "Python with polars / pyspark installed (default $PYTHON, else /work/venv/bin/python)")
	scripts := flag.String("scripts", "", "directory of rank_polars.py and rank_pyspark.py (default: bench/compare of the enclosing repository)")
	threads := flag.Int("threads", 0, "DuckDB threads and PySpark cores; 0: all cores")
	outDir := flag.String("out", "", "directory for the outputs; empty: a temporary directory, removed afterwards")
	// The DuckDB child: one COPY in a process of its own, so that its start-up and peak
	// memory are measured like every other tool's.
	duckChild := flag.String("duckdb-child", "", "(internal) run one DuckDB COPY of the job to this file and exit")
	flag.Parse()
	if *duckChild != "" {
		if err := runDuckChild(*in, *duckChild, *threads); err != nil {
			fmt.Fprintln(os.Stderr, "rankcompare: duckdb:", err)
			os.Exit(1)
		}
		return
	}
	if *in == "" || *rounds < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *bin, *rounds, strings.Split(*tools, ","), *python, *scripts, *threads, *outDir); err != nil {
		fmt.Fprintln(os.Stderr, "rankcompare:", err)
		os.Exit(1)
	}
}

func runDuckChild(in, out string, threads int) error {
	q, err := duckbench.RankJobSQL("team", filepath.Join(in, "entries.parquet"), filepath.Join(in, "points.parquet"))
	if err != nil {
		return err
	}
	db, err := duckbench.Open(threads)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("COPY (" + q + ") TO " + duckbench.Quote(out) + " (FORMAT parquet)")
	return err
}

// tool is one contender: how to run it on the dataset, writing out.
type tool struct {
	name string
	cmd  func(ctx context.Context, out string) *exec.Cmd
	out  string // its output: a file, or a directory of Parquet files
	// results
	wall, rss, cpu []float64 // seconds, bytes, CPU seconds (user + system)
}

func run(in, bin string, rounds int, names []string, python, scripts string, threads int, outDir string) error {
	ctx := context.Background()
	if outDir == "" {
		d, err := os.MkdirTemp("", "rankcompare-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		outDir = d
	} else if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	root, rootErr := duckbench.FindRepoRoot(".")
	if bin == "" && slices.Contains(names, "leaderboard") {
		if rootErr != nil {
			return fmt.Errorf("%w (pass --leaderboard BIN)", rootErr)
		}
		var err error
		if bin, err = duckbench.BuildLeaderboard(ctx, root, outDir); err != nil {
			return err
		}
	}
	if scripts == "" {
		if rootErr != nil {
			return fmt.Errorf("%w (pass --scripts DIR)", rootErr)
		}
		scripts = filepath.Join(root, "bench", "compare")
	}
	if python == "" {
		python = defaultPython()
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cores := threads
	if cores <= 0 {
		cores = runtime.NumCPU()
	}

	var ts []*tool
	for _, name := range names {
		out := filepath.Join(outDir, "ranks-"+name+".parquet")
		t := &tool{name: name, out: out}
		switch name {
		case "leaderboard":
			t.cmd = func(ctx context.Context, out string) *exec.Cmd { return duckbench.RankCommand(ctx, bin, in, out) }
		case "duckdb":
			t.cmd = func(ctx context.Context, out string) *exec.Cmd {
				return exec.CommandContext(ctx, self, "--duckdb-child", out, "--in", in, "--threads", fmt.Sprint(threads))
			}
		case "polars", "pyspark":
			if msg := pythonMissing(ctx, python, name); msg != "" {
				fmt.Printf("skipping %s: %s\n", name, msg)
				continue
			}
			script := filepath.Join(scripts, "rank_"+name+".py")
			t.cmd = func(ctx context.Context, out string) *exec.Cmd {
				return exec.CommandContext(ctx, python, script, in, out, fmt.Sprint(cores))
			}
			if name == "pyspark" {
				t.out = strings.TrimSuffix(out, ".parquet") // Spark writes a directory
			}
		default:
			return fmt.Errorf("unknown tool %q (want leaderboard, duckdb, polars or pyspark)", name)
		}
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return errors.New("no tool to run")
	}
	fmt.Printf("dataset: %s\nmachine: %d CPUs; rounds: %d, tools alternating, order rotated each round\n", in, runtime.NumCPU(), rounds)
	for r := range rounds {
		for k := range ts {
			t := ts[(r+k)%len(ts)]
			os.RemoveAll(t.out)
			cmd := t.cmd(ctx, t.out)
			wall, rss, out, err := measure(cmd)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w\n%s", t.name, r+1, err, tail(out, 20))
			}
			cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
			t.wall, t.rss, t.cpu = append(t.wall, wall), append(t.rss, rss), append(t.cpu, cpu)
			fmt.Printf("round %d  %-12s %8.3fs  CPU %7.2fs  peak RSS %6.0f MB  (load average %s)\n", r+1, t.name, wall, cpu, rss/1e6, loadavg())
		}
	}

	// Every output against ours (or the first tool's when ours did not run).
	ref := ts[0]
	for _, t := range ts {
		if t.name == "leaderboard" {
			ref = t
		}
	}
	db, err := duckbench.Open(threads)
	if err != nil {
		return err
	}
	defer db.Close()
	type summary struct {
		Tool       string  `json:"tool"`
		MedianS    float64 `json:"median_s"`
		MinS       float64 `json:"min_s"`
		CPUS       float64 `json:"median_cpu_s"`
		PeakRSSMB  float64 `json:"peak_rss_mb"`
		VsRef      float64 `json:"median_vs_leaderboard"`
		RSSVsRef   float64 `json:"rss_vs_leaderboard"`
		SameAnswer bool    `json:"same_ranks"`
	}
	var sums []summary
	refMed, refRSS := median(ref.wall), median(ref.rss)
	allSame := true
	fmt.Println()
	for _, t := range ts {
		same := true
		if t != ref {
			c, err := duckbench.Compare(ctx, db, ref.name, relation(ref.out), t.name, relation(t.out), 5)
			if err != nil {
				return fmt.Errorf("compare %s with %s: %w", t.name, ref.name, err)
			}
			if same = c.OK(); !same {
				fmt.Printf("%s DIFFERS from %s: %s\n", t.name, ref.name, c)
			}
		}
		allSame = allSame && same
		s := summary{Tool: t.name, MedianS: round(median(t.wall)), MinS: round(slices.Min(t.wall)), CPUS: round(median(t.cpu)),
			PeakRSSMB: round(median(t.rss) / 1e6), VsRef: round(median(t.wall) / refMed),
			RSSVsRef: round(median(t.rss) / refRSS), SameAnswer: same}
		sums = append(sums, s)
		fmt.Printf("median %-12s %8.3fs (min %.3fs)  %5.2fx %s's time  CPU %.2fs  peak RSS %6.0f MB (%4.2fx)  same ranks: %v\n",
			t.name, s.MedianS, s.MinS, s.VsRef, ref.name, s.CPUS, s.PeakRSSMB, s.RSSVsRef, same)
	}
	line, err := json.Marshal(struct {
		Dataset string    `json:"dataset"`
		Rounds  int       `json:"rounds"`
		Tools   []summary `json:"tools"`
	}{in, rounds, sums})
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	if !allSame {
		return errors.New("the tools' ranks differ")
	}
	return nil
}

// defaultPython is $PYTHON, else the venv the docs install into.
func defaultPython() string {
	if p := os.Getenv("PYTHON"); p != "" {
		return p
	}
	return "/work/venv/bin/python"
}

// pythonMissing says how to install what the tool needs, or "" when it is there.
func pythonMissing(ctx context.Context, python, module string) string {
	install := fmt.Sprintf("python3 -m venv /work/venv && /work/venv/bin/pip install %s (or pass --python)", module)
	if _, err := exec.LookPath(python); err != nil {
		return fmt.Sprintf("no Python at %s; install: %s", python, install)
	}
	if err := exec.CommandContext(ctx, python, "-c", "import "+module).Run(); err != nil {
		return fmt.Sprintf("%s cannot import %s; install: %s", python, module, install)
	}
	if module == "pyspark" {
		if _, err := exec.LookPath("java"); err != nil {
			return "PySpark needs a Java runtime: apt-get install -y openjdk-17-jre-headless"
		}
	}
	return ""
}

// measure runs cmd to its end: wall seconds, peak RSS in bytes (of the child and its
// largest descendant, as the kernel reports for waited-for children), combined output.
// CPU time is the child's and its waited-for descendants' (not an orphaned JVM's).
// A process tree whose parts are not waited for by the child (PySpark's JVM) is also
// sampled from /proc every 50 ms: the larger figure is reported.
func measure(cmd *exec.Cmd) (wall, rss float64, out string, err error) {
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, "", err
	}
	stop := make(chan struct{})
	sampled := make(chan float64)
	go func() {
		var peak float64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, treeRSS(cmd.Process.Pid))
			select {
			case <-stop:
				sampled <- peak
				return
			case <-tick.C:
			}
		}
	}()
	err = cmd.Wait()
	wall = time.Since(start).Seconds()
	close(stop)
	rss = <-sampled
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = max(rss, float64(ru.Maxrss)*1024)
	}
	return wall, rss, buf.String(), err
}

// treeRSS sums the resident memory of pid and its descendants (Linux /proc; 0 elsewhere).
func treeRSS(pid int) float64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	rss := map[int]float64{}
	for _, e := range entries {
		var p int
		if _, err := fmt.Sscan(e.Name(), &p); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... ; rss (pages) is field 24
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 22 {
			continue
		}
		var ppid int
		var pages float64
		fmt.Sscan(f[1], &ppid)
		fmt.Sscan(f[21], &pages)
		parent[p], rss[p] = ppid, pages*float64(os.Getpagesize())
	}
	var total float64
	for p, r := range rss {
		for q := p; q > 1; q = parent[q] {
			if q == pid {
				total += r
				break
			}
		}
	}
	return total
}

// loadavg is the 1-minute load average (Linux), to tell a quiet run from a busy one.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// relation reads an output as DuckDB SQL: a file, or the Parquet files of a directory.
func relation(path string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return "read_parquet(" + duckbench.Quote(filepath.Join(path, "*.parquet")) + ")"
	}
	return "read_parquet(" + duckbench.Quote(path) + ")"
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
