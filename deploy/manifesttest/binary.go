package manifesttest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Binary is a built `leaderboard` binary, asked for its subcommands' flags.
type Binary struct {
	Path string

	mu    sync.Mutex
	flags map[string]*Flags // by subcommand
}

// Flags are one subcommand's flags, as its -h lists them.
type Flags struct {
	Command string
	ByName  map[string]Flag
}

// Flag is one flag: whether it is boolean (takes no value) and its default.
type Flag struct {
	Name    string
	Bool    bool
	Default string
}

var (
	// flag.PrintDefaults: "  -name type" (no type for a bool), then the usage indented.
	// A one-letter flag's usage follows on the same line, after a tab.
	helpFlagLine = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9._-]*)(?: (\S+))?(?:\t(.*))?$`)
	helpDefault  = regexp.MustCompile(`\(default (?:"((?:[^"\\]|\\.)*)"|([^)]*))\)\s*$`)
)

// Flags returns cmd's flags, parsed from `leaderboard CMD -h`.
func (b *Binary) Flags(cmd string) (*Flags, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.flags[cmd]; ok {
		return f, nil
	}
	out, code, err := b.run(cmd, "-h")
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("`leaderboard %s -h` exited %d (not a subcommand?): %s", cmd, code, firstLine(out))
	}
	f, err := parseHelp(cmd, out)
	if err != nil {
		return nil, err
	}
	if b.flags == nil {
		b.flags = map[string]*Flags{}
	}
	b.flags[cmd] = f
	return f, nil
}

// parseHelp reads flag.PrintDefaults output.
func parseHelp(cmd string, out []byte) (*Flags, error) {
	f := &Flags{Command: cmd, ByName: map[string]Flag{}}
	var cur *Flag
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := helpFlagLine.FindStringSubmatch(line); m != nil {
			if cur != nil {
				f.ByName[cur.Name] = *cur
			}
			cur = &Flag{Name: m[1], Bool: m[2] == ""}
			if m[3] == "" {
				continue
			}
			line = m[3]
		}
		if cur != nil && (strings.HasPrefix(line, "    \t") || line != "" && line[0] != ' ') {
			if m := helpDefault.FindStringSubmatch(line); m != nil {
				if m[1] != "" || m[2] == "" {
					cur.Default = strings.ReplaceAll(m[1], `\"`, `"`)
				} else {
					cur.Default = m[2]
				}
			}
		}
	}
	if cur != nil {
		f.ByName[cur.Name] = *cur
	}
	if len(f.ByName) == 0 {
		return nil, fmt.Errorf("`leaderboard %s -h` listed no flags: %q", cmd, firstLine(out))
	}
	return f, nil
}

// Value is flag name's value in args (the last one given), else its default.
func (f *Flags) Value(args map[string]string, name string) string {
	if v, ok := args[name]; ok {
		return v
	}
	return f.ByName[name].Default
}

// ParseArgs checks the syntax and names of a subcommand's arguments (args[0] is the
// subcommand): each must be --name=value (a boolean may be --name) with a name the
// subcommand accepts. It returns the flags by name.
func (b *Binary) ParseArgs(args []string) (*Flags, map[string]string, []error) {
	if len(args) == 0 {
		return nil, nil, []error{fmt.Errorf("no subcommand (args is empty)")}
	}
	flags, err := b.Flags(args[0])
	if err != nil {
		return nil, nil, []error{err}
	}
	var errs []error
	vals := map[string]string{}
	for _, a := range args[1:] {
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || name == "" {
			errs = append(errs, fmt.Errorf("argument %q: write flags as --name=value", a))
			continue
		}
		fl, ok := flags.ByName[name]
		if !ok {
			errs = append(errs, fmt.Errorf("flag --%s: not a flag of `leaderboard %s` (its flags: `leaderboard %s -h`)", name, args[0], args[0]))
			continue
		}
		if !hasVal && !fl.Bool {
			errs = append(errs, fmt.Errorf("flag --%s: needs a value (--%s=...)", name, name))
			continue
		}
		if !hasVal {
			val = "true"
		}
		vals[name] = val
	}
	return flags, vals, errs
}

// CheckValues runs `leaderboard ARGS... -h`: the subcommand parses every flag's value
// before it meets -h, so a value its flag cannot parse (a bad duration, a number
// where a word is expected) is a usage error, exit status 2.
func (b *Binary) CheckValues(args []string) error {
	out, code, err := b.run(append(append([]string(nil), args...), "-h")...)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("`leaderboard %s` refuses these arguments (exit %d): %s", args[0], code, firstLine(out))
	}
	return nil
}

func (b *Binary) run(args ...string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Path, args...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return out, ee.ExitCode(), nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("cannot run %s %s: %w", b.Path, strings.Join(args, " "), err)
	}
	return out, 0, nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
