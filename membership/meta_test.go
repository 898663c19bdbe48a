package membership

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []Meta{
		{Role: RoleWorker, HTTPAddr: "10.0.0.7:8081", Capacity: 4, Version: "v1.2.3"},
		{Role: RoleCoordinator, HTTPAddr: "[::1]:9000", Version: "dev"},
		{Role: RoleAPI},
		{Role: RoleWorker, Capacity: 1<<32 - 1, HTTPAddr: strings.Repeat("h", 200), Version: strings.Repeat("v", 200)},
	} {
		b, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode(%+v): %v", m, err)
		}
		got, err := DecodeMeta(b)
		if err != nil || got != m {
			t.Fatalf("DecodeMeta(Encode(%+v)) = %+v, %v", m, got, err)
		}
	}
	// Compact: a typical worker's metadata is a few dozen bytes.
	b, _ := Meta{Role: RoleWorker, HTTPAddr: "10.0.0.7:8081", Capacity: 4, Version: "v1.2.3"}.Encode()
	if len(b) > 25 {
		t.Errorf("a worker's metadata takes %d bytes, want <= 25", len(b))
	}
}

func TestMetaRejects(t *testing.T) {
	if _, err := (Meta{Role: RoleWorker, HTTPAddr: strings.Repeat("x", 600)}).Encode(); err == nil || !strings.Contains(err.Error(), "over memberlist's limit of 512") {
		t.Errorf("600-byte address: %v, want an error naming the limit", err)
	}
	if _, err := (Meta{}).Encode(); err == nil || !strings.Contains(err.Error(), "role unknown") {
		t.Errorf("no role: %v", err)
	}
	good, _ := Meta{Role: RoleAPI, HTTPAddr: "a:1", Version: "v"}.Encode()
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{nil, "metadata of 0 bytes: truncated"},
		{[]byte{2, 1}, "metadata format 2"},
		{[]byte{1, 9, 0, 0, 0}, "unknown role 9"},
		{[]byte{1, 1, 0x80}, "bad capacity"},
		{good[:len(good)-1], "version: truncated"},
		{good[:5], "HTTP address: truncated"},
		{append(good[:len(good):len(good)], 0), "1 bytes after the version"},
	} {
		if _, err := DecodeMeta(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeMeta(%v) = %v, want an error containing %q", tc.b, err, tc.want)
		}
	}
	for _, s := range []string{"coordinator", "worker", "api"} {
		if r, err := ParseRole(s); err != nil || r.String() != s {
			t.Errorf("ParseRole(%q) = %v, %v", s, r, err)
		}
	}
	if _, err := ParseRole("boss"); err == nil || !strings.Contains(err.Error(), `role "boss"`) {
		t.Errorf("ParseRole(boss): %v", err)
	}
}

func defaultConfig(t testing.TB, args ...string) Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfig(t *testing.T) {
	c := defaultConfig(t, "--join", "a:1, b:2", "--join", "c:3", "--bind", "127.0.0.1:0")
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if got := strings.Join(c.Join, " "); got != "a:1 b:2 c:3" {
		t.Errorf("--join a:1, b:2 --join c:3 = %q", got)
	}
	typical, worst := c.DetectionTime(4)
	if typical != 2700*time.Millisecond || worst != 6*time.Second {
		t.Errorf("default detection time in 4 members: typical %v, worst %v; docs/CLUSTER.md says 2.7s and 6s", typical, worst)
	}
	// Beyond 10 members memberlist scales suspicion by log10(n): 100 members double it.
	if typical, _ := c.DetectionTime(100); typical != 4700*time.Millisecond {
		t.Errorf("default detection time in 100 members: typical %v, want 4.7s", typical)
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Bind = "nowhere" }, `bind address "nowhere"`},
		{func(c *Config) { c.Bind = "h:70000" }, "port must be 0..65535"},
		{func(c *Config) { c.Advertise = "h" }, `advertise address "h"`},
		{func(c *Config) { c.Join = []string{"x"} }, `join address "x"`},
		{func(c *Config) { c.Label = "" }, "cluster label: empty"},
		{func(c *Config) { c.Label = strings.Repeat("l", 256) }, "cluster label: 256 bytes"},
		{func(c *Config) { c.KeyFile, c.Keys = "f", [][]byte{make([]byte, 16)} }, "both a key file and keys"},
		{func(c *Config) { c.Keys = [][]byte{make([]byte, 15)} }, "gossip key 1: 15 bytes"},
		{func(c *Config) { c.ProbeTimeout = c.ProbeInterval }, "must be shorter than the probe interval"},
		{func(c *Config) { c.SuspicionMult = 0 }, "suspicion multipliers"},
		{func(c *Config) { c.JoinMaxBackoff = time.Millisecond }, "join backoff"},
	} {
		c := defaultConfig(t)
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
		}
	}
}

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "keys")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keys, err := ReadKeyFile(write("# primary first\nAAAAAAAAAAAAAAAAAAAAAA==\n\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n"))
	if err != nil || len(keys) != 2 || len(keys[0]) != 16 || len(keys[1]) != 32 || keys[1][0] != 1 {
		t.Fatalf("ReadKeyFile = %v, %v", keys, err)
	}
	for body, want := range map[string]string{
		"not base64!\n": "line 1: not base64",
		"\nAAAA\n":      "line 2: 3 bytes",
		"# nothing\n":   "no key",
	} {
		if _, err := ReadKeyFile(write(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("key file %q: %v, want an error containing %q", body, err, want)
		}
	}
	if _, err := ReadKeyFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "cannot read gossip key file") {
		t.Errorf("missing key file: %v", err)
	}
}

// memberlist's log lines reach slog at their own level, without the level tag.
func TestLogWriterLevels(t *testing.T) {
	var buf strings.Builder
	w := logWriter{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, line := range []string{"[DEBUG] memberlist: a", "[WARN] memberlist: b", "[ERR] memberlist: c", "untagged d"} {
		if _, err := w.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	got := buf.String()
	for _, want := range []string{`level=DEBUG msg="memberlist: a"`, `level=WARN msg="memberlist: b"`, `level=ERROR msg="memberlist: c"`, `level=INFO msg="untagged d"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %s:\n%s", want, got)
		}
	}
}

// DecodeMeta never panics on gossip from anyone, and what it accepts encodes back to the
// same metadata.
func FuzzDecodeMeta(f *testing.F) {
	for _, m := range []Meta{{Role: RoleWorker, HTTPAddr: "10.0.0.7:8081", Capacity: 4, Version: "v1"}, {Role: RoleAPI}} {
		b, _ := m.Encode()
		f.Add(b)
	}
	f.Add([]byte{1, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		e, err := m.Encode()
		if err != nil {
			if len(b) > 512 { // accepted from a peer but over our own limit: fine
				return
			}
			t.Fatalf("DecodeMeta(%x) = %+v, which does not encode: %v", b, m, err)
		}
		if m2, err := DecodeMeta(e); err != nil || m2 != m {
			t.Fatalf("round trip of %+v: %+v, %v", m, m2, err)
		}
	})
}
