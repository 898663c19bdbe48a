package membership

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Member is one node of the cluster in a snapshot.
// A snapshot lists the members not declared dead or left, suspects included: a suspect
// keeps its work until the cluster declares it dead.
type Member struct {
	Name    string
	Addr    string // gossip host:port
	Meta    Meta
	MetaErr error // why Meta could not be read (Meta.Role is then RoleUnknown)
}

// Service is this node's membership of the gossip cluster, a dskit service: Start creates
// the gossip listener (failing fast if it cannot bind), Run joins the --join members,
// retrying with backoff and re-joining every RejoinInterval, Stop leaves the cluster
// (telling the others at once) and closes the listener.
type Service struct {
	*services.BasicService

	cfg    Config
	keys   [][]byte
	logger *slog.Logger

	metaMu sync.Mutex
	meta   []byte

	ml      *memberlist.Memberlist // set in starting, before Running
	keyring *memberlist.Keyring    // nil without encryption
	killed  atomic.Bool            // shut down without leaving (tests: a crash)

	// The view, kept from memberlist's callbacks: they run under memberlist's node lock,
	// while reading its Members() result races with gossip updating the same structs.
	watchMu  sync.Mutex
	view     map[string]Member
	watchers map[int]chan struct{}
	nextW    int

	events       *prometheus.CounterVec
	joinFailures prometheus.Counter
	members      prometheus.GaugeFunc
}

// New prepares a membership service; nothing listens until it is started.
func New(cfg Config, meta Meta, logger *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mb, err := meta.Encode()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	keys := cfg.Keys
	if cfg.KeyFile != "" {
		if keys, err = ReadKeyFile(cfg.KeyFile); err != nil {
			return nil, err
		}
	}
	if cfg.NodeName == "" {
		if cfg.NodeName, err = os.Hostname(); err != nil || cfg.NodeName == "" {
			return nil, fmt.Errorf("no --node-name and no host name to default to: %v", err)
		}
	}
	s := &Service{
		cfg:      cfg,
		keys:     keys,
		logger:   logger.With("node", cfg.NodeName),
		meta:     mb,
		view:     make(map[string]Member),
		watchers: make(map[int]chan struct{}),
	}
	// Labelled by node, so the members of an in-process cluster (tests, demo) can share one
	// registry.
	if reg != nil {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"node": cfg.NodeName}, reg)
	}
	f := promauto.With(reg)
	s.events = f.NewCounterVec(prometheus.CounterOpts{
		Name: "leaderboard_gossip_member_events_total",
		Help: "Membership changes this node saw, by kind (join, leave, update).",
	}, []string{"kind"})
	s.joinFailures = f.NewCounter(prometheus.CounterOpts{
		Name: "leaderboard_gossip_join_failures_total",
		Help: "Attempts to join the --join members that reached none of them.",
	})
	s.members = f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "leaderboard_gossip_members",
		Help: "Alive and suspect members this node sees, itself included.",
	}, func() float64 { return float64(len(s.Members())) })
	s.BasicService = services.NewBasicService(s.starting, s.running, s.stopping).WithName("membership")
	return s, nil
}

func (s *Service) starting(context.Context) error {
	host, port, _ := splitHostPort("bind", s.cfg.Bind)
	mc := memberlist.DefaultLANConfig()
	mc.Name = s.cfg.NodeName
	mc.BindAddr, mc.BindPort = host, port
	mc.AdvertiseAddr, mc.AdvertisePort = "", port
	if s.cfg.Advertise != "" {
		mc.AdvertiseAddr, mc.AdvertisePort, _ = splitHostPort("advertise", s.cfg.Advertise)
	}
	mc.Label = s.cfg.Label
	mc.ProbeInterval = s.cfg.ProbeInterval
	mc.ProbeTimeout = s.cfg.ProbeTimeout
	mc.SuspicionMult = s.cfg.SuspicionMult
	mc.SuspicionMaxTimeoutMult = s.cfg.SuspicionMaxTimeoutMult
	mc.GossipInterval = s.cfg.GossipInterval
	mc.PushPullInterval = s.cfg.PushPullInterval
	mc.GossipToTheDeadTime = s.cfg.PushPullInterval
	mc.TCPTimeout = max(2*s.cfg.ProbeInterval, time.Second)
	// A node restarted under its name at a new address (a rescheduled pod) takes the name
	// back once the old incarnation is dead, instead of being refused as a conflict.
	mc.DeadNodeReclaimTime = s.cfg.ProbeInterval
	mc.Delegate = delegate{s}
	mc.Events = events{s}
	mc.Logger = log.New(logWriter{s.logger}, "", 0)
	if len(s.keys) > 0 {
		kr, err := memberlist.NewKeyring(s.keys, s.keys[0])
		if err != nil {
			return fmt.Errorf("gossip keys: %w", err)
		}
		mc.Keyring, s.keyring = kr, kr
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("cannot start gossip on %s: %w", s.cfg.Bind, err)
	}
	s.ml = ml
	s.logger.Info("gossip started", "addr", ml.LocalNode().Address(), "label", s.cfg.Label, "encrypted", len(s.keys) > 0)
	return nil
}

func (s *Service) running(ctx context.Context) error {
	if len(s.cfg.Join) == 0 {
		s.logger.Info("no members to join: waiting to be joined")
		<-ctx.Done()
		return nil
	}
	wait := s.cfg.JoinMinBackoff
	for {
		n, err := s.ml.Join(s.cfg.Join)
		if n > 0 {
			s.logger.Info("joined the cluster", "reached", n, "of", strings.Join(s.cfg.Join, ","), "members", s.ml.NumMembers())
			break
		}
		s.joinFailures.Inc()
		s.logger.Warn("cannot join the cluster yet, retrying", "join", strings.Join(s.cfg.Join, ","), "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, s.cfg.JoinMaxBackoff)
	}
	var rejoin <-chan time.Time
	if s.cfg.RejoinInterval > 0 {
		t := time.NewTicker(s.cfg.RejoinInterval)
		defer t.Stop()
		rejoin = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rejoin:
			if n, err := s.ml.Join(s.cfg.Join); n == 0 {
				s.joinFailures.Inc()
				s.logger.Warn("periodic re-join reached no member", "join", strings.Join(s.cfg.Join, ","), "err", err)
			}
		}
	}
}

func (s *Service) stopping(error) error {
	if s.ml == nil || s.killed.Load() {
		return nil
	}
	if err := s.ml.Leave(s.cfg.LeaveTimeout); err != nil {
		s.logger.Warn("leaving the cluster: the others will detect this node's absence instead", "err", err)
	} else {
		s.logger.Info("left the cluster")
	}
	if err := s.ml.Shutdown(); err != nil {
		return fmt.Errorf("cannot stop gossip: %w", err)
	}
	return nil
}

// kill stops gossip without leaving, as a crash would: the others must detect it.
func (s *Service) kill() {
	s.killed.Store(true)
	_ = s.ml.Shutdown()
	s.StopAsync()
}

// Kill stops gossip without leaving, as a crash would, for fault tests of other packages
// (a worker killed under a coordinator) and in-process demos. It must follow a start.
func (s *Service) Kill() { s.kill() }

// Name is this node's name in the cluster.
func (s *Service) Name() string { return s.cfg.NodeName }

// Addr is the gossip address others reach this node at (host:port), once started.
func (s *Service) Addr() string {
	if s.ml == nil {
		return ""
	}
	return s.ml.LocalNode().Address()
}

// Members is a snapshot of the members not declared dead or left, this node included, by
// name. Empty unless the service is running.
func (s *Service) Members() []Member {
	if s.State() != services.Running {
		return nil
	}
	s.watchMu.Lock()
	ms := make([]Member, 0, len(s.view))
	for _, m := range s.view {
		ms = append(ms, m)
	}
	s.watchMu.Unlock()
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return ms
}

// Watch returns a channel that receives a value after the membership changes (a member
// joined, left, died or changed its metadata), and a function that stops the watch.
// Changes coalesce: a receiver that is behind gets one value for many changes, and reads
// Members for the current view. Sends never block gossip.
func (s *Service) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.watchMu.Lock()
	id := s.nextW
	s.nextW++
	s.watchers[id] = ch
	s.watchMu.Unlock()
	return ch, func() {
		s.watchMu.Lock()
		delete(s.watchers, id)
		s.watchMu.Unlock()
	}
}

func (s *Service) changed(kind string, n *memberlist.Node) {
	s.events.WithLabelValues(kind).Inc()
	level := slog.LevelInfo
	if kind == "update" {
		level = slog.LevelDebug
	}
	s.logger.Log(context.Background(), level, "member "+kind, "member", n.Name, "addr", n.Address(), "state", stateName(n.State))
	m := Member{Name: n.Name, Addr: n.Address()}
	m.Meta, m.MetaErr = DecodeMeta(n.Meta)
	s.watchMu.Lock()
	if kind == "leave" {
		delete(s.view, n.Name)
	} else {
		s.view[n.Name] = m
	}
	for _, ch := range s.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	s.watchMu.Unlock()
}

// UpdateMeta changes this node's metadata and gossips it, waiting up to timeout for the
// broadcast to go out.
func (s *Service) UpdateMeta(m Meta, timeout time.Duration) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	if s.ml == nil {
		return fmt.Errorf("cannot update metadata: membership not started")
	}
	s.metaMu.Lock()
	s.meta = b
	s.metaMu.Unlock()
	if err := s.ml.UpdateNode(timeout); err != nil {
		return fmt.Errorf("cannot gossip new metadata: %w", err)
	}
	return nil
}

// SetKeys replaces the gossip keys at run time: keys[0] encrypts from now on, every key in
// keys decrypts, and any other key is dropped. It needs a node started with encryption
// (memberlist cannot turn it on later). A rotation is three rounds over every node, each
// finished everywhere before the next (docs/CLUSTER.md): [old, new], then [new, old],
// then [new].
func (s *Service) SetKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return fmt.Errorf("gossip keys: none given; encryption cannot be turned off at run time")
	}
	if s.keyring == nil {
		return fmt.Errorf("gossip keys: this node was started without encryption")
	}
	for i, k := range keys {
		if err := memberlist.ValidateKey(k); err != nil {
			return fmt.Errorf("gossip key %d: %w", i+1, err)
		}
	}
	kr := s.keyring
	for _, k := range keys {
		if err := kr.AddKey(k); err != nil {
			return fmt.Errorf("gossip keys: %w", err)
		}
	}
	if err := kr.UseKey(keys[0]); err != nil {
		return fmt.Errorf("gossip keys: %w", err)
	}
	for _, k := range kr.GetKeys() {
		if !slices.ContainsFunc(keys, func(x []byte) bool { return bytes.Equal(x, k) }) {
			if err := kr.RemoveKey(k); err != nil {
				return fmt.Errorf("gossip keys: %w", err)
			}
		}
	}
	s.logger.Info("gossip keys replaced", "keys", len(keys))
	return nil
}

// ReloadKeyFile reads --gossip-key-file again and applies it with SetKeys: the run-time
// form of one rotation round (a process calls it on SIGHUP or an admin request).
func (s *Service) ReloadKeyFile() error {
	if s.cfg.KeyFile == "" {
		return fmt.Errorf("gossip keys: no key file configured")
	}
	keys, err := ReadKeyFile(s.cfg.KeyFile)
	if err != nil {
		return err
	}
	return s.SetKeys(keys)
}

// delegate gives memberlist this node's metadata; the node gossips nothing else.
type delegate struct{ s *Service }

func (d delegate) NodeMeta(limit int) []byte {
	d.s.metaMu.Lock()
	defer d.s.metaMu.Unlock()
	return d.s.meta // Encode kept it within memberlist.MetaMaxSize
}
func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}

// events turns memberlist's callbacks into log lines, metrics and watch signals.
type events struct{ s *Service }

func (e events) NotifyJoin(n *memberlist.Node)   { e.s.changed("join", n) }
func (e events) NotifyLeave(n *memberlist.Node)  { e.s.changed("leave", n) }
func (e events) NotifyUpdate(n *memberlist.Node) { e.s.changed("update", n) }

// logWriter sends memberlist's log lines ("[WARN] memberlist: ...") to slog at their level.
type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	for prefix, l := range map[string]slog.Level{"[DEBUG]": slog.LevelDebug, "[INFO]": slog.LevelInfo, "[WARN]": slog.LevelWarn, "[ERR]": slog.LevelError, "[ERROR]": slog.LevelError} {
		if strings.HasPrefix(msg, prefix) {
			level, msg = l, strings.TrimSpace(msg[len(prefix):])
			break
		}
	}
	w.l.Log(context.Background(), level, msg, "component", "memberlist")
	return len(p), nil
}

func stateName(s memberlist.NodeStateType) string {
	switch s {
	case memberlist.StateAlive:
		return "alive"
	case memberlist.StateSuspect:
		return "suspect"
	case memberlist.StateDead:
		return "dead"
	case memberlist.StateLeft:
		return "left"
	}
	return fmt.Sprintf("state(%d)", s)
}
