package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fantasy/leaderboard/coordinator"
)

// cmdStatus runs `leaderboard status --coordinator ADDR`: the coordinator's view
// (members, partitions per worker, recent cycles' timings, matches' visible cycles) as
// readable tables, or its JSON with --json.
func cmdStatus(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	addr := fs.String("coordinator", "127.0.0.1:8090", "the coordinator's HTTP address (host:port or URL)")
	asJSON := fs.Bool("json", false, "print the coordinator's status as JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return fmt.Errorf("%w: --timeout %v: must be > 0", errUsage, *timeout)
	}
	cl, err := coordinator.NewClient(*addr, "", nil)
	if err != nil {
		return fmt.Errorf("%w: --coordinator: %v", errUsage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return printStatus(stdout, st)
}

func printStatus(w io.Writer, st coordinator.Status) error {
	fmt.Fprintf(w, "coordinator %s: epoch %d, cycle %d, a cycle every %s, %d partitions\n", st.Node, st.Epoch, st.Cycle, st.Interval, st.Partitions)
	if len(st.Unassigned) > 0 {
		fmt.Fprintf(w, "unassigned partitions (no worker yet): %s\n", ints(st.Unassigned))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMEMBER\tROLE\tGOSSIP\tHTTP\tCAPACITY\t")
	for _, m := range st.Members {
		role := m.Role
		if m.Draining {
			role += " (draining)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t\n", m.Name, role, m.Addr, m.HTTPAddr, m.Capacity)
	}
	fmt.Fprintln(tw, "\nWORKER\tWRITING\tLOADING\t")
	for _, k := range st.Workers {
		name := k.Name
		if !k.Alive {
			name += " (gone)"
		}
		fmt.Fprintf(tw, "%s\t%d: %s\t%d: %s\t\n", name, len(k.Writing), ints(k.Writing), len(k.Loading), ints(k.Loading))
	}
	fmt.Fprintln(tw, "\nCYCLE\tSTARTED\tREPORTS\tENTRIES\tCONTESTS\tRECORDS\tSLOWEST PARTITION PER STAGE\t")
	for _, c := range st.Cycles {
		var stages []string
		for _, s := range c.Stages {
			stages = append(stages, fmt.Sprintf("%s %s", s.Stage, time.Duration(s.Seconds*float64(time.Second)).Round(10*time.Microsecond)))
		}
		fmt.Fprintf(tw, "%d\t%s\t%d/%d\t%d\t%d\t%d\t%s\t\n", c.Cycle, c.At.Format("15:04:05.000"), c.Reports, st.Partitions, c.Entries, c.Contests, c.Records, strings.Join(stages, ", "))
	}
	if len(st.Matches) > 0 {
		fmt.Fprintln(tw, "\nMATCH\tVISIBLE CYCLE\tPARTITIONS\t")
		for _, m := range st.Matches {
			fmt.Fprintf(tw, "%d\t%d\t%s\t\n", m.Match, m.Visible, ints(m.Partitions))
		}
	}
	return tw.Flush()
}

func ints(ps []int32) string {
	if len(ps) == 0 {
		return "-"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ",")
}
