package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/fantasy/leaderboard/membership"
)

// Client is a worker's (or an operator's) side of the coordinator's HTTP API. Next has
// worker.CycleSource's shape, so a worker's adapter is one line.
type Client struct {
	base   string
	worker string
	hc     *http.Client

	mu   sync.Mutex
	last int64 // the last cycle Next returned
}

// NewClient talks to the coordinator at addr (host:port or a URL) as worker (the
// worker's node name; "" for an operator). hc nil: a client without a timeout (long-polls
// are bounded by the coordinator and by ctx).
func NewClient(addr, worker string, hc *http.Client) (*Client, error) {
	if addr == "" {
		return nil, errors.New("coordinator address: empty")
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("coordinator address %q: want host:port or http://host:port", addr)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimSuffix(u.String(), "/"), worker: worker, hc: hc}, nil
}

// Next waits for the next tick: the first call returns the current one (a worker that
// starts ranks at once), later calls a tick above the last returned.
func (c *Client) Next(ctx context.Context) (Tick, error) {
	for {
		c.mu.Lock()
		after := c.last
		c.mu.Unlock()
		var t Tick
		code, err := c.do(ctx, http.MethodGet, PathTick+"?after="+strconv.FormatInt(after, 10), nil, &t)
		if err != nil {
			return Tick{}, err
		}
		if code == http.StatusNoContent {
			continue // the long-poll ended without a tick
		}
		c.mu.Lock()
		c.last = max(c.last, t.Cycle)
		c.mu.Unlock()
		return t, nil
	}
}

// Assignment returns the current table.
func (c *Client) Assignment(ctx context.Context) (Assignment, error) {
	var a Assignment
	_, err := c.do(ctx, http.MethodGet, PathAssignment, nil, &a)
	return a, err
}

// WaitAssignment returns the table once its epoch is above after (or, when the
// coordinator's long-poll ends first, the current one).
func (c *Client) WaitAssignment(ctx context.Context, after int64) (Assignment, error) {
	var a Assignment
	_, err := c.do(ctx, http.MethodGet, PathAssignment+"?after="+strconv.FormatInt(after, 10), nil, &a)
	return a, err
}

// Report sends a cycle report for one partition; Worker is filled in.
func (c *Client) Report(ctx context.Context, r Report) error {
	r.Worker = c.worker
	_, err := c.do(ctx, http.MethodPost, PathReport, r, nil)
	return err
}

// CaughtUp tells the coordinator this worker replayed partition p, loading since epoch.
func (c *Client) CaughtUp(ctx context.Context, p int32, epoch int64) error {
	_, err := c.do(ctx, http.MethodPost, PathCaughtUp, CaughtUp{Worker: c.worker, Partition: p, Epoch: epoch}, nil)
	return err
}

// Leave asks the coordinator to move this worker's partitions away (it is stopping).
func (c *Client) Leave(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodPost, PathLeave, Leave{Worker: c.worker}, nil)
	return err
}

// Status returns the coordinator's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	_, err := c.do(ctx, http.MethodGet, PathStatus, nil, &s)
	return s, err
}

// Drain asks the coordinator to move every partition away from worker.
func (c *Client) Drain(ctx context.Context, worker, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+PathDrain+"?worker="+url.QueryEscape(worker), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	_, err = c.send(req, nil)
	return err
}

// StatusError is an answer of the coordinator other than success.
type StatusError struct {
	Code    int
	Message string // the coordinator's {"error"}
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("coordinator answered %d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

// IsStale reports whether err is the coordinator refusing a call from a member that no
// longer holds the partition (409): re-read the assignment.
func IsStale(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusConflict
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("cannot encode the request to %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out)
}

func (c *Client) send(req *http.Request, out any) (int, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("coordinator %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("coordinator %s %s: reading the answer: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return resp.StatusCode, &StatusError{Code: resp.StatusCode, Message: e.Error}
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("coordinator %s %s: cannot decode the answer: %w", req.Method, req.URL.Path, err)
		}
	}
	return resp.StatusCode, nil
}

// Find returns the HTTP address of the acting coordinator among a gossip snapshot (the
// coordinator member with the lowest name, docs/CLUSTER.md), for a worker to build its
// Client from membership alone.
func Find(members []membership.Member) (string, error) {
	var best *membership.Member
	for i, m := range members {
		if m.Meta.Role == membership.RoleCoordinator && m.Meta.HTTPAddr != "" && (best == nil || m.Name < best.Name) {
			best = &members[i]
		}
	}
	if best == nil {
		return "", errors.New("no coordinator with an HTTP address in the gossip cluster (yet)")
	}
	return best.Meta.HTTPAddr, nil
}
