package manifesttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	Line int
	Op   string // upper case
	Args string
}

func parseDockerfile(data []byte) []dockerInstr {
	var out []dockerInstr
	sc := bufio.NewScanner(bytes.NewReader(data))
	var cur strings.Builder
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		op, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstr{Line: start, Op: strings.ToUpper(op), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

var goLine = regexp.MustCompile(`(?m)^go (\d+\.\d+)`)

// CheckDockerfile checks the image's recipe, since no Docker engine runs here to build it:
// a Go build stage of go.mod's Go version that builds ./cmd/leaderboard statically, and a
// distroless or scratch final stage that runs that binary as a non-root user. It returns
// the image tag the file's comment tells people to build (docker build ... -t TAG).
func CheckDockerfile(file string, data, goMod []byte) (string, []error) {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(file+": "+format, a...)) }
	instrs := parseDockerfile(data)
	var stages [][]dockerInstr
	var froms []string
	for _, in := range instrs {
		if in.Op == "FROM" {
			froms = append(froms, in.Args)
			stages = append(stages, nil)
			continue
		}
		if len(stages) == 0 {
			if in.Op != "ARG" {
				add("line %d: %s before the first FROM", in.Line, in.Op)
			}
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) < 2 {
		add("%d stage(s): want a multi-stage build (a Go build stage, then the final image)", len(stages))
		return "", errs
	}
	// The build stage: golang:<go.mod's version>, a static go build of the command.
	buildImage, alias, _ := strings.Cut(froms[0], " AS ")
	alias = strings.TrimSpace(alias)
	if m := goLine.FindSubmatch(goMod); m == nil {
		add("go.mod has no go line")
	} else if want := "golang:" + string(m[1]); !strings.HasPrefix(buildImage, want) {
		add("build stage FROM %s: go.mod says go %s, so %s", buildImage, m[1], want)
	}
	out := ""
	for _, in := range stages[0] {
		if in.Op == "RUN" && strings.Contains(in.Args, "go build") {
			if !strings.Contains(in.Args, "CGO_ENABLED=0") {
				add("line %d: go build without CGO_ENABLED=0: the binary would need a libc the final image lacks", in.Line)
			}
			if !strings.Contains(in.Args, "./cmd/leaderboard") {
				add("line %d: go build does not build ./cmd/leaderboard", in.Line)
			}
			f := strings.Fields(in.Args)
			for i := range f[:len(f)-1] {
				if f[i] == "-o" {
					out = f[i+1]
				}
			}
		}
	}
	if out == "" {
		add("build stage: no `RUN ... go build -o PATH ./cmd/leaderboard`")
	}
	// The final stage: distroless or scratch, the binary copied from the build stage, a
	// non-root user, the binary as the entrypoint.
	final := strings.Fields(froms[len(froms)-1])[0]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		add("final stage FROM %s: want gcr.io/distroless/static* or scratch (a static binary needs nothing else)", final)
	}
	dest, user, entry := "", "", ""
	for _, in := range stages[len(stages)-1] {
		switch in.Op {
		case "COPY":
			f := strings.Fields(in.Args)
			if len(f) >= 3 && f[0] == "--from="+alias && slices.Contains(f, out) {
				dest = f[len(f)-1]
			}
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			var e []string
			if err := json.Unmarshal([]byte(in.Args), &e); err != nil || len(e) == 0 {
				add("line %d: ENTRYPOINT %s: write it in exec form, [\"/leaderboard\"]", in.Line, in.Args)
			} else {
				entry = e[0]
			}
		}
	}
	if dest == "" {
		add("final stage: no COPY --from=%s %s", alias, out)
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		add("final stage: USER %q: run as a non-root user", user)
	}
	if entry == "" || entry != dest {
		add("final stage: ENTRYPOINT %q is not the copied binary %q", entry, dest)
	}
	tag := ""
	if m := regexp.MustCompile(`docker build .*-t (\S+)`).FindSubmatch(data); m != nil {
		tag = string(m[1])
	} else {
		add("no `docker build ... -t TAG` line in its comments: say how to build it")
	}
	return tag, errs
}

// DockerBuildLine returns the build stage's `RUN ... go build ...` line of a Dockerfile:
// its leading VAR=value assignments and the go command's arguments, so a test can build
// the binary exactly as the image does.
func DockerBuildLine(data []byte) (env []string, args []string, err error) {
	for _, in := range parseDockerfile(data) {
		if in.Op != "RUN" || !strings.Contains(in.Args, "go build") {
			continue
		}
		f, err := shellFields(in.Args)
		if err != nil {
			return nil, nil, fmt.Errorf("RUN %s: %w", in.Args, err)
		}
		i := 0
		for ; i < len(f) && strings.Contains(f[i], "=") && !strings.HasPrefix(f[i], "-"); i++ {
			env = append(env, f[i])
		}
		if i+1 >= len(f) || f[i] != "go" || f[i+1] != "build" {
			return nil, nil, fmt.Errorf("RUN %s: want VAR=value... go build ... and nothing else", in.Args)
		}
		return env, f[i+1:], nil
	}
	return nil, nil, fmt.Errorf("no RUN ... go build line")
}

// shellFields splits a simple shell command line into words: blanks separate, single and
// double quotes group (no escapes, variables or operators: those are refused).
func shellFields(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		case strings.ContainsRune("$`\\;&|<>", r):
			return nil, fmt.Errorf("%q: only plain words and quotes are understood here", r)
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}
