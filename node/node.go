// Package node assembles the cluster's processes from their parts, each with an explicit
// start, run and stop under one dskit services.Manager (fail-fast: the first part to fail
// stops the node), so that a process's main is flags and one call, and one test process
// can run a coordinator, several workers and an API over loopback gossip
// (docs/CLUSTER.md, "Processes").
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/membership"
	"github.com/fantasy/leaderboard/worker"
)

// Node is a running process's parts under one manager.
type Node struct {
	Member *membership.Service
	mgr    *services.Manager
	failed chan error
	parts  []services.Service
	closer []func()
}

func start(ctx context.Context, ms *membership.Service, parts []services.Service, closer []func()) (*Node, error) {
	all := append([]services.Service{ms}, parts...)
	mgr, err := services.NewManager(all...)
	if err != nil {
		return nil, err
	}
	n := &Node{Member: ms, mgr: mgr, failed: make(chan error, len(all)), parts: all, closer: closer}
	mgr.AddListener(services.NewManagerListener(nil, nil, func(s services.Service) {
		n.failed <- fmt.Errorf("%s failed: %w", services.DescribeService(s), s.FailureCase())
	}))
	if err := mgr.StartAsync(context.Background()); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := mgr.AwaitHealthy(sctx); err != nil {
		_ = n.Stop()
		if f := n.failure(); f != nil {
			return nil, f
		}
		return nil, err
	}
	return n, nil
}

// Failed delivers the first part's failure.
func (n *Node) Failed() <-chan error { return n.failed }

// Alive reports whether every part runs.
func (n *Node) Alive() bool { return n.mgr.IsHealthy() }

// Wait blocks until ctx ends (nil) or a part fails (its error); either way the node is
// stopped when it returns.
func (n *Node) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-n.failed:
	}
	if serr := n.Stop(); err == nil {
		err = serr
	}
	return err
}

// Stop stops every part and waits for them: gossip last, so that the others still see
// this node while its parts wind down (a worker hands its partitions over first).
func (n *Node) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, s := range n.parts[1:] {
		s.StopAsync()
	}
	for _, s := range n.parts[1:] {
		_ = s.AwaitTerminated(ctx)
	}
	n.mgr.StopAsync()
	err := n.mgr.AwaitStopped(ctx)
	for _, c := range n.closer {
		c()
	}
	if f := n.failure(); f != nil {
		return f
	}
	return err
}

// Kill stops the node as a crash would: gossip goes silent without leaving (the others
// detect a death), then every part stops. For tests.
func (n *Node) Kill() {
	n.Member.Kill()
	_ = n.Stop()
}

func (n *Node) failure() error {
	for _, s := range n.parts {
		if f := s.FailureCase(); f != nil {
			return fmt.Errorf("%s failed: %w", services.DescribeService(s), f)
		}
	}
	return nil
}

// WorkerConfig is a cluster worker.
type WorkerConfig struct {
	Kafka  kafkasource.Config
	Member membership.Config
	Worker worker.Config
	// Coordinator is the coordinator's HTTP address; "": the one gossip names.
	Coordinator string
	Capacity    uint32
	// AdminAddr is gossiped as the worker's HTTP address (its /metrics, for the console).
	AdminAddr string
	// DrainTimeout bounds a graceful stop's hand-over: the worker asks the coordinator to
	// move its partitions away and keeps writing them until their new owners took them
	// over (make-before-break), then leaves the gossip cluster. 0: no hand-over (its
	// partitions are taken over once it left).
	DrainTimeout time.Duration
}

// WorkerDeps are a worker's dependencies.
type WorkerDeps struct {
	Store      worker.Store
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Worker is a running cluster worker.
type Worker struct {
	*Node
	W     *worker.Worker
	Agent *worker.Agent
	crash atomic.Bool // Kill: stop without handing the partitions over
}

// Kill stops the worker as a crash would: gossip silent without a leave, no hand-over.
func (n *Worker) Kill() {
	n.crash.Store(true)
	n.Node.Kill()
}

// StartWorker joins the gossip cluster, finds the coordinator, and runs a worker that
// follows its assignments and ticks, until stopped or a part fails.
func StartWorker(ctx context.Context, cfg WorkerConfig, deps WorkerDeps) (*Worker, error) {
	log := deps.Logger
	if cfg.Capacity == 0 {
		cfg.Capacity = 1
	}
	ms, err := membership.New(cfg.Member, membership.Meta{Role: membership.RoleWorker, HTTPAddr: cfg.AdminAddr, Capacity: cfg.Capacity, Version: "dev"}, log, deps.Registerer)
	if err != nil {
		return nil, err
	}
	kc := cfg.Kafka
	kc.SharedRejectsElsewhere = true
	src, err := kafkasource.New(kc, log, deps.Registerer)
	if err != nil {
		return nil, err
	}
	wc := cfg.Worker
	wc.Cluster = true
	wc.EntriesTopic, wc.PointsTopic, wc.MatchesTopic = kc.EntriesTopic, kc.PointsTopic, kc.MatchesTopic
	w, err := worker.New(wc, src, deps.Store, log, deps.Registerer, time.Now)
	if err != nil {
		src.Close()
		return nil, err
	}
	n := &Worker{W: w}
	var agent *worker.Agent
	svc := services.NewBasicService(func(ctx context.Context) error {
		// The caught-up gate: the points and matches topics' end offsets now.
		for _, topic := range []string{kc.PointsTopic, kc.MatchesTopic} {
			ends, err := src.EndOffsets(ctx, topic)
			if err != nil {
				return fmt.Errorf("cannot read the end offsets of %s (is Kafka at %v up?): %w", topic, kc.Brokers, err)
			}
			w.SetTopicEnds(topic, ends)
		}
		addr := cfg.Coordinator
		for addr == "" {
			if err := ms.AwaitRunning(ctx); err != nil {
				return err
			}
			if a, err := coordinator.Find(ms.Members()); err == nil {
				addr = a
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("no coordinator found through gossip (is one running and joined? --join): %w", ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
		cl, err := coordinator.NewClient(addr, cfg.Member.NodeName, nil)
		if err != nil {
			return err
		}
		var co worker.Coordinator = cl
		if cfg.Coordinator == "" { // found through gossip: found again when it moves
			co = &followCoordinator{cl: cl, addr: addr, name: cfg.Member.NodeName, ms: ms, log: log}
		}
		agent = worker.NewAgent(w, src, co, cfg.Member.NodeName, kc.EntriesTopic, log)
		n.Agent = agent
		log.Info("worker following the coordinator", "coordinator", addr, "node", cfg.Member.NodeName)
		return nil
	}, func(ctx context.Context) error {
		// The agent runs on its own context, so that a graceful stop can hand the
		// partitions over before it ends.
		inner, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- agent.Run(inner) }()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		if cfg.DrainTimeout > 0 && !n.crash.Load() {
			dctx, dcancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
			if err := agent.Drain(dctx); err != nil {
				log.Warn("stopping without a complete hand-over: the rest is taken over once this worker left", "err", err)
			}
			dcancel()
		}
		cancel()
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}, nil).WithName("worker")
	nd, err := start(ctx, ms, []services.Service{svc}, []func(){src.Close})
	if err != nil {
		src.Close()
		return nil, err
	}
	n.Node = nd
	return n, nil
}

// Ready reports whether the worker's parts run and its partitions are caught up and
// published.
func (n *Worker) Ready() bool { return n.Alive() && n.W.Ready() }

// CoordinatorConfig is a coordinator process.
type CoordinatorConfig struct {
	Kafka       kafkasource.Config
	Member      membership.Config
	Coordinator coordinator.Config
	HTTP        string // listen address of its HTTP API
	Advertise   string // gossiped as its HTTP address ("": HTTP's)
}

// CoordinatorDeps are a coordinator's dependencies.
type CoordinatorDeps struct {
	Store      coordinator.Store // commits; nil: none
	CycleFloor int64
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer // served on /metrics; nil: none
}

// Coordinator is a running coordinator process.
type Coordinator struct {
	*Node
	C    *coordinator.Coordinator
	Addr string // its HTTP API's address
}

// StartCoordinator reads the entries topic's partition count, joins the gossip cluster
// and runs the coordinator with its HTTP API. Its Kafka source also reads the points and
// matches topics whole, to dead-letter their undecodable records once for the cluster.
func StartCoordinator(ctx context.Context, cfg CoordinatorConfig, deps CoordinatorDeps) (*Coordinator, error) {
	log := deps.Logger
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	parts, err := kafkasource.Partitions(pctx, cfg.Kafka)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("cannot read the partitions of %s from %v (is Kafka up, and the topic created? `leaderboard load` or `leaderboard broker` create it): %w", cfg.Kafka.EntriesTopic, cfg.Kafka.Brokers, err)
	}
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (pick another with --http): %w", cfg.HTTP, err)
	}
	addr := ln.Addr().String()
	adv := cfg.Advertise
	if adv == "" {
		adv = addr
	}
	src, err := kafkasource.New(cfg.Kafka, log, deps.Registerer)
	if err != nil {
		ln.Close()
		return nil, err
	}
	offsets := func(ctx context.Context) (map[int32]int64, error) { return src.EndOffsets(ctx, cfg.Kafka.PointsTopic) }
	ms, err := membership.New(cfg.Member, membership.Meta{Role: membership.RoleCoordinator, HTTPAddr: adv, Version: "dev"}, log, deps.Registerer)
	if err != nil {
		ln.Close()
		src.Close()
		return nil, err
	}
	co, err := coordinator.New(cfg.Coordinator, len(parts), coordinator.Deps{Node: ms.Name(), Members: ms, Offsets: offsets, Store: deps.Store,
		CycleFloor: deps.CycleFloor, Logger: log, Registerer: deps.Registerer})
	if err != nil {
		ln.Close()
		src.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", co.Handler())
	if deps.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{}))
	}
	var nd *Node
	// Probes: alive while every part runs; ready once the coordinator runs (its state
	// loaded, ticking) with every part alive.
	probe := func(ok func() bool) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			if nd == nil || !ok() {
				http.Error(w, "not ready", http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte("ok\n"))
		}
	}
	mux.Handle("GET /healthz", probe(func() bool { return nd.Alive() }))
	mux.Handle("GET /readyz", probe(func() bool { return nd.Alive() && co.State() == services.Running }))
	srv := co.NewServer(addr)
	srv.Handler = mux
	httpSvc := services.NewBasicService(nil, func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			return nil
		case err := <-errc:
			return fmt.Errorf("HTTP server on %s: %w", addr, err)
		}
	}, nil).WithName("coordinator-http")
	// The shared topics' bad records: polled and dropped, their rejects dead-lettered.
	dlq := services.NewBasicService(nil, func(ctx context.Context) error {
		for {
			if _, err := src.Poll(ctx); err != nil {
				if ctx.Err() != nil || errors.Is(err, kafkasource.ErrClosed) {
					return nil
				}
				log.Warn("reading the points and matches topics for dead letters; retrying", "err", err)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		}
	}, nil).WithName("shared-dead-letters")
	nd, err = start(ctx, ms, []services.Service{co, httpSvc, dlq}, []func(){src.Close})
	if err != nil {
		ln.Close()
		src.Close()
		return nil, err
	}
	log.Info("coordinator started", "node", ms.Name(), "partitions", len(parts), "http", addr, "gossip", ms.Addr())
	return &Coordinator{Node: nd, C: co, Addr: addr}, nil
}

// followCoordinator is a coordinator client that looks the coordinator up again through
// gossip when a call cannot reach it (a restarted coordinator may have another address).
type followCoordinator struct {
	mu   sync.Mutex
	cl   *coordinator.Client
	addr string
	name string
	ms   *membership.Service
	log  *slog.Logger
}

func (f *followCoordinator) client() *coordinator.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cl
}

// check re-resolves the coordinator after a call failed without an answer.
func (f *followCoordinator) check(err error) error {
	var se *coordinator.StatusError
	if err == nil || errors.As(err, &se) {
		return err
	}
	addr, ferr := coordinator.Find(f.ms.Members())
	f.mu.Lock()
	defer f.mu.Unlock()
	if ferr == nil && addr != f.addr {
		if cl, cerr := coordinator.NewClient(addr, f.name, nil); cerr == nil {
			f.log.Info("the coordinator moved; following it", "from", f.addr, "to", addr)
			f.cl, f.addr = cl, addr
		}
	}
	return err
}

func (f *followCoordinator) Next(ctx context.Context) (coordinator.Tick, error) {
	t, err := f.client().Next(ctx)
	return t, f.check(err)
}

func (f *followCoordinator) WaitAssignment(ctx context.Context, after int64) (coordinator.Assignment, error) {
	a, err := f.client().WaitAssignment(ctx, after)
	return a, f.check(err)
}

func (f *followCoordinator) Report(ctx context.Context, r coordinator.Report) error {
	return f.check(f.client().Report(ctx, r))
}

func (f *followCoordinator) CaughtUp(ctx context.Context, p int32, epoch int64) error {
	return f.check(f.client().CaughtUp(ctx, p, epoch))
}

func (f *followCoordinator) Leave(ctx context.Context) error {
	return f.check(f.client().Leave(ctx))
}
