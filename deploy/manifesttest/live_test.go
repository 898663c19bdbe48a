package manifesttest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestProcessesServeTheirProbes starts the manifests' processes for real, with their
// args as written except for addresses: a development broker and store stand in for
// Kafka and Aerospike, listeners move to free loopback ports, and files to a temporary
// directory. Each must start (so its flags pass its own validation, which -h skips), and
// answer its probes' paths on the listener the probe's port names: liveness and startup
// with 200, readiness with 200 or 503 (not ready yet), never 404; and /metrics where the
// Prometheus annotations say. The worker must become ready: it found the coordinator,
// was assigned partitions and ranked them.
func TestProcessesServeTheirProbes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five processes; not in -short")
	}
	files := deployFiles(t)
	set, errs := LoadSet(k8sFiles(files))
	errs = append(errs, set.Check(bin, string(files[opsDoc]))...)
	if len(errs) > 0 {
		t.Fatalf("the manifests do not pass TestDeployFiles: %v", errs)
	}
	var procs []*process
	for _, w := range set.checked {
		procs = append(procs, w.procs...)
	}
	order := map[string]int{"coordinator": 0, "worker": 1, "api": 2}
	slices.SortStableFunc(procs, func(a, b *process) int { return order[a.flags.Command] - order[b.flags.Command] })
	if len(procs) == 0 || procs[0].flags.Command != "coordinator" {
		t.Fatal("no coordinator in the manifests")
	}
	// The development broker creates the topics the manifests name.
	broker, store := freeAddr(t), freeAddr(t)
	bargs := []string{"broker", "--addr=" + broker}
	for _, f := range []string{"entries-topic", "points-topic", "matches-topic", "dlq-topic"} {
		bargs = append(bargs, "--"+f+"="+procs[0].flags.Value(procs[0].vals, f))
	}
	startProc(t, "broker", bargs, broker)
	startProc(t, "store", []string{"store", "--addr=" + store}, store)
	var coordHTTP, coordGossip string
	for _, p := range procs {
		addrs := map[string]string{} // listener flag -> the address it got here
		var args []string
		for _, a := range p.args[1:] {
			name, val, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			switch {
			case slices.ContainsFunc(listenerSpecs[p.flags.Command], func(l listenerSpec) bool { return l.Flag == name }):
				continue // below: every listener gets a free port
			case name == "advertise" || name == "http-advertise" || name == "metrics-targets":
				continue
			case name == "join":
				if p.flags.Command == "coordinator" {
					continue
				}
				val = coordGossip
			case name == "coordinator":
				val = coordHTTP
			case name == "kafka":
				val = broker
			case name == "aerospike-hosts":
				val = store
			case name == "data-dir":
				val = t.TempDir()
			case strings.HasSuffix(name, "-file"):
				val = filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(val, []byte("manifesttest-token\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args = append(args, "--"+name+"="+val)
		}
		for _, l := range p.listeners {
			addrs[l.Flag] = freeAddr(t)
			args = append(args, "--"+l.Flag+"="+addrs[l.Flag])
		}
		if p.flags.Command == "coordinator" {
			coordHTTP, coordGossip = addrs["http"], addrs["bind"]
		}
		args = append([]string{p.flags.Command}, args...)
		var up string // a TCP listener to wait for: the first HTTP one
		for _, l := range p.listeners {
			if len(l.Paths) > 0 && up == "" {
				up = addrs[l.Flag]
			}
		}
		startProc(t, p.String(), args, up)

		probes := []struct {
			kind  string
			p     *corev1.Probe
			codes []int
		}{{"livenessProbe", p.c.LivenessProbe, []int{200}}, {"startupProbe", p.c.StartupProbe, []int{200}}, {"readinessProbe", p.c.ReadinessProbe, []int{200, 503}}}
		for _, pr := range probes {
			if pr.p == nil || pr.p.HTTPGet == nil {
				continue
			}
			port, _ := portNumber(p.c, pr.p.HTTPGet.Port, corev1.ProtocolTCP)
			i := slices.IndexFunc(p.listeners, func(l listener) bool { return l.Port == port })
			if i < 0 {
				t.Errorf("%s: %s: no listener on port %d", p, pr.kind, port)
				continue
			}
			url := "http://" + addrs[p.listeners[i].Flag] + pr.p.HTTPGet.Path
			code := waitGet(t, url, pr.codes)
			t.Logf("%s: %s GET %s (--%s): %d", p, pr.kind, pr.p.HTTPGet.Path, p.listeners[i].Flag, code)
			if !slices.Contains(pr.codes, code) {
				t.Errorf("%s: %s: GET %s (--%s) answered %d, want one of %v", p, pr.kind, pr.p.HTTPGet.Path, p.listeners[i].Flag, code, pr.codes)
			}
		}
		// A worker started with these flags finds the coordinator through gossip, is
		// assigned the partitions and becomes ready (after the coordinator's --settle and
		// the first tick of the ConfigMap's INTERVAL).
		if p.flags.Command == "worker" {
			start, ready := time.Now(), false
			for !ready && time.Since(start) < 60*time.Second {
				resp, err := http.Get("http://" + addrs["admin-http"] + "/readyz")
				if err == nil {
					resp.Body.Close()
					ready = resp.StatusCode == 200
				}
				time.Sleep(100 * time.Millisecond)
			}
			if !ready {
				t.Errorf("%s: not ready 60 s after its start (the coordinator at %s, gossip %s)", p, coordHTTP, coordGossip)
			} else {
				t.Logf("%s: ready %v after its start", p, time.Since(start).Round(100*time.Millisecond))
			}
		}
		if port, ok := p.w.Template.Annotations["prometheus.io/port"]; ok {
			i := slices.IndexFunc(p.listeners, func(l listener) bool { return fmt.Sprint(l.Port) == port })
			if i >= 0 {
				url := "http://" + addrs[p.listeners[i].Flag] + p.w.Template.Annotations["prometheus.io/path"]
				code := waitGet(t, url, []int{200})
				t.Logf("%s: GET %s (prometheus.io annotations): %d", p, url, code)
				if code != 200 {
					t.Errorf("%s: prometheus.io annotations: GET %s answered %d", p, url, code)
				}
			}
		}
	}
}

func k8sFiles(files map[string][]byte) map[string][]byte {
	k8s := map[string][]byte{}
	for n, b := range files {
		if strings.HasPrefix(n, "k8s/") {
			k8s[n] = b
		}
	}
	return k8s
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProc starts `leaderboard ARGS`, waits until addr accepts TCP connections, and
// stops the process (SIGTERM, then SIGKILL after 10 s) when the test ends.
func startProc(t *testing.T, name string, args []string, addr string) {
	t.Helper()
	logs := &lockedBuffer{}
	cmd := exec.Command(bin.Path, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("%s: `leaderboard %s` exited at start: %v\n%s", name, strings.Join(args, " "), cmd.ProcessState, logs)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: `leaderboard %s` does not listen on %s after 60 s\n%s", name, strings.Join(args, " "), addr, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitGet GETs url until it answers one of want (a readiness path may need a moment),
// for at most 5 s, and returns the last status (0: no answer).
func waitGet(t *testing.T, url string, want []int) int {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	code := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			continue
		}
		resp.Body.Close()
		code = resp.StatusCode
		if slices.Contains(want, code) {
			break
		}
	}
	return code
}
