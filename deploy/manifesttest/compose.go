package manifesttest

import (
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Compose is the part of the Compose file format deploy/compose uses. It is decoded
// strictly: a key outside it is an error (a typo, or a new key to add here).
type Compose struct {
	Name         string                    `json:"name"`
	XLeaderboard *ComposeService           `json:"x-leaderboard,omitempty"`
	Services     map[string]ComposeService `json:"services"`
	Secrets      map[string]ComposeSecret  `json:"secrets,omitempty"`
	Volumes      map[string]*ComposeVolume `json:"volumes,omitempty"`
}

// ComposeService is one service.
type ComposeService struct {
	Image       string                       `json:"image,omitempty"`
	Build       *ComposeBuild                `json:"build,omitempty"`
	Restart     string                       `json:"restart,omitempty"`
	Entrypoint  []string                     `json:"entrypoint,omitempty"`
	Command     []string                     `json:"command,omitempty"`
	Environment map[string]string            `json:"environment,omitempty"`
	Ports       []string                     `json:"ports,omitempty"`
	Volumes     []string                     `json:"volumes,omitempty"`
	DependsOn   map[string]ComposeDependency `json:"depends_on,omitempty"`
	Healthcheck *ComposeHealthcheck          `json:"healthcheck,omitempty"`
	Secrets     []string                     `json:"secrets,omitempty"`
	Profiles    []string                     `json:"profiles,omitempty"`
}

type ComposeBuild struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
}

type ComposeDependency struct {
	Condition string `json:"condition"`
}

type ComposeHealthcheck struct {
	Test     []string `json:"test"`
	Interval string   `json:"interval,omitempty"`
	Timeout  string   `json:"timeout,omitempty"`
	Retries  int      `json:"retries,omitempty"`
}

type ComposeSecret struct {
	File        string `json:"file,omitempty"`
	Environment string `json:"environment,omitempty"`
}

type ComposeVolume struct{}

// composeConditions are the depends_on conditions Compose knows.
var composeConditions = []string{"service_started", "service_healthy", "service_completed_successfully"}

// CheckCompose checks a compose file: it decodes strictly, what it names exists, and its
// leaderboard services pass the same flag and listener checks as the manifests, with
// host names that are its services. dir is the compose file's directory, relative to
// deploy/ (bind mounts and the build context are resolved from it), and exists reports
// whether a path under deploy/ exists.
func CheckCompose(b *Binary, file string, data []byte, exists func(string) bool) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(file+": "+format, a...)) }
	var c Compose
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return []error{fmt.Errorf("%s: %w", file, err)}
	}
	if len(c.Services) == 0 {
		add("no services")
	}
	dir := path.Dir(file)
	names := make([]string, 0, len(c.Services))
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	type proc struct {
		name  string
		flags *Flags
		vals  map[string]string
		ls    []listener
	}
	procs := map[string]*proc{}
	for _, n := range names {
		s := c.Services[n]
		where := "service " + n
		if s.Image == "" {
			add("%s: no image", where)
		}
		for dep, d := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				add("%s: depends_on %q: no such service", where, dep)
			}
			if !slices.Contains(composeConditions, d.Condition) {
				add("%s: depends_on %s: condition %q: not one of %v", where, dep, d.Condition, composeConditions)
			}
			if d.Condition == "service_healthy" && c.Services[dep].Healthcheck == nil {
				add("%s: depends_on %s: service_healthy, but %s has no healthcheck", where, dep, dep)
			}
		}
		for _, sec := range s.Secrets {
			if _, ok := c.Secrets[sec]; !ok {
				add("%s: secret %q: not defined under secrets", where, sec)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if p := path.Join(dir, src); !exists(p) {
					add("%s: volume %q: %s does not exist", where, v, p)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				add("%s: volume %q: %s is not defined under volumes", where, v, src)
			}
		}
		if s.Build != nil {
			ctx := path.Join(dir, s.Build.Context)
			if df := path.Join(ctx, s.Build.Dockerfile); !exists(df) {
				add("%s: build: %s does not exist", where, df)
			}
		}
		if !strings.HasPrefix(s.Image, "leaderboard:") {
			continue
		}
		if len(s.Entrypoint) > 0 {
			add("%s: entrypoint %q replaces the image's: give the subcommand and flags as command", where, s.Entrypoint)
		}
		for _, a := range s.Command {
			if strings.Contains(a, "$") {
				add("%s: command %q: Compose interpolates $ from the shell's environment, which this test cannot check", where, a)
			}
		}
		flags, vals, e := b.ParseArgs(s.Command)
		for _, err := range e {
			add("%s: %v", where, err)
		}
		if flags == nil {
			continue
		}
		if len(e) == 0 {
			if err := b.CheckValues(s.Command); err != nil {
				add("%s: %v", where, err)
			}
		}
		for _, err := range loopbackDefaults(flags, vals) {
			add("%s: %v", where, err)
		}
		ls, e := listeners(flags, vals)
		for _, err := range e {
			add("%s: %v", where, err)
		}
		procs[n] = &proc{name: n, flags: flags, vals: vals, ls: ls}
		for _, p := range s.Ports {
			parts := strings.Split(p, ":")
			cport, err := strconv.Atoi(strings.TrimSuffix(parts[len(parts)-1], "/tcp"))
			if err != nil {
				add("%s: port %q: the container port is not a number", where, p)
				continue
			}
			i := slices.IndexFunc(ls, func(l listener) bool { return l.Port == cport })
			switch {
			case i < 0:
				add("%s: port %q: no flag listens on %d", where, p, cport)
			case !ls[i].Reachable():
				add("%s: port %q: --%s=%s listens on loopback only, which a published port cannot reach", where, p, ls[i].Flag, ls[i].Addr)
			}
		}
		if flags.Command == "coordinator" {
			if dd := flags.Value(vals, "data-dir"); !slices.ContainsFunc(s.Volumes, func(v string) bool {
				_, target, _ := strings.Cut(v, ":")
				target, _, _ = strings.Cut(target, ":")
				return dd == target || strings.HasPrefix(dd, strings.TrimSuffix(target, "/")+"/")
			}) {
				add("%s: --data-dir=%s: not on a volume, so the coordinator's cycle numbers would go back with a new container", where, dd)
			}
		}
	}
	// Host names are services, on the ports they serve there.
	for _, n := range names {
		p := procs[n]
		if p == nil {
			continue
		}
		where := "service " + n
		for _, flag := range []string{"kafka", "aerospike-hosts", "join", "coordinator", "http-advertise", "metrics-targets"} {
			v, ok := p.vals[flag]
			if !ok || v == "" {
				continue
			}
			hosts, ports, err := hostPorts(v)
			if err != nil {
				add("%s: --%s: %v", where, flag, err)
				continue
			}
			for i, h := range hosts {
				target, ok := c.Services[h]
				if !ok {
					add("%s: --%s: host %q is not a service of this file", where, flag, h)
					continue
				}
				switch flag {
				case "kafka":
					if l := target.Environment["KAFKA_ADVERTISED_LISTENERS"]; !strings.Contains(l, fmt.Sprintf("//%s:%d", h, ports[i])) {
						add("%s: --kafka %s:%d: not one of %s's advertised listeners %q", where, h, ports[i], h, l)
					}
				case "join":
					q := procs[h]
					if q == nil || !gossipCommands[q.flags.Command] {
						add("%s: --join %s: not a gossip member", where, h)
						continue
					}
					if j := slices.IndexFunc(q.ls, func(l listener) bool { return l.Flag == "bind" }); j < 0 || q.ls[j].Port != ports[i] {
						add("%s: --join %s:%d: %s's gossip does not listen on that port", where, h, ports[i], h)
					}
				case "metrics-targets":
					q := procs[h]
					if q == nil || !slices.ContainsFunc(q.ls, func(l listener) bool { return l.Port == ports[i] && l.Serves("/metrics") }) {
						add("%s: --metrics-targets %s:%d: serves no /metrics there", where, h, ports[i])
					}
				case "coordinator", "http-advertise":
					q := procs[h]
					if q == nil || q.flags.Command != "coordinator" {
						add("%s: --%s %s: not a coordinator", where, flag, h)
						continue
					}
					if j := slices.IndexFunc(q.ls, func(l listener) bool { return l.Flag == "http" }); j < 0 || q.ls[j].Port != ports[i] {
						add("%s: --%s %s:%d: the coordinator's --http does not listen on that port", where, flag, h, ports[i])
					}
				}
			}
		}
	}
	// The console counts every worker.
	for _, n := range names {
		p := procs[n]
		if p == nil || p.vals["metrics-targets"] == "" {
			continue
		}
		hosts, _, _ := hostPorts(p.vals["metrics-targets"])
		for _, w := range names {
			if q := procs[w]; q != nil && q.flags.Command == "worker" && !slices.Contains(hosts, w) {
				add("service %s: --metrics-targets does not list the worker %s: the console would not count it", n, w)
			}
		}
	}
	// Gossip members agree, and have unique names.
	for _, flag := range []string{"cluster-label", "interval", "node-name"} {
		seen := map[string][]string{}
		for _, n := range names {
			if p := procs[n]; p != nil && gossipCommands[p.flags.Command] {
				v := p.flags.Value(p.vals, flag)
				seen[v] = append(seen[v], n)
			}
		}
		if flag == "node-name" {
			for v, ns := range seen {
				if len(ns) > 1 {
					add("--node-name %q is used by %v: gossip names must be unique", v, ns)
				}
			}
		} else if len(seen) > 1 {
			add("--%s differs between gossip members: %v", flag, seen)
		}
	}
	return errs
}

// existsUnder returns an exists function for CheckCompose over the real tree rooted at
// deploy/.
func existsUnder(root string) func(string) bool {
	return func(p string) bool {
		_, err := os.Stat(path.Join(root, p))
		return err == nil
	}
}
