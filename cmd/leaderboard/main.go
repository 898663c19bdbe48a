// Command leaderboard is the fantasy-sports leaderboard engine. Each subcommand is a
// short script: parse flags, build configs, construct the parts, run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"demo", "everything in one process: embedded broker, generated dataset, simulated match, ranking, API", cmdDemo},
	{"standalone", "a single-node system (worker owning every partition, embedded store, API) against any Kafka", cmdStandalone},
	{"api", "a stateless API process reading a shared store (--store aerospike) that other processes write", cmdAPI},
	{"coordinator", "the cluster's coordinator: assigns partitions to the gossip cluster's workers, ticks cycles, collects reports", cmdCoordinator},
	{"worker", "a cluster worker: ranks the entries partitions the coordinator assigns it and writes them to the shared store (--store aerospike)", cmdWorker},
	{"status", "print a coordinator's view: members, partitions per worker, recent cycles' timings", cmdStatus},
	{"broker", "a development Kafka broker (franz-go kfake) that any Kafka client can use", cmdBroker},
	{"store", "a development Aerospike: the embedded store over Aerospike's wire protocol", cmdStore},
	{"load", "publish a dataset's entries to the entries topic", cmdLoad},
	{"simulate", "play a T20 match ball by ball, publishing player points and its lifecycle", cmdSimulate},
	{"gen", "write a deterministic synthetic dataset (entries.parquet, points.parquet, points2.parquet)",
		func(ctx context.Context, args []string, _, stderr io.Writer) error { return cmdGen(ctx, args, stderr) }},
	{"rank", "rank a Parquet dataset once and write ranks.parquet (the batch job)", cmdRank},
	{"bench", "load a dataset once and time K ranking cycles next to a naive baseline", cmdBench},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks an error in the command line (exit status 2).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(stderr, "leaderboard %s: internal error: %v\n%s\nThis is a bug; please report it with the command line above.\n", c.name, r, debug.Stack())
				code = 3
			}
		}()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "leaderboard %s: %v\nRun 'leaderboard %s -h' for its flags.\n", c.name, err, c.name)
			return 2
		default:
			fmt.Fprintf(stderr, "leaderboard %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "leaderboard: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: leaderboard <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'leaderboard <command> -h' for a command's flags.")
}

// parseFlags parses args, turning a flag error into a usage error. Positional arguments
// are refused: every input is a named flag.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.PrintDefaults()
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
