package coordinator

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The HTTP API (docs/CLUSTER.md, "Coordinator"). Workers:
//
//	GET  /cluster/v1/assignment[?after=EPOCH]  the table; with after, waits (long-poll) for a newer epoch
//	GET  /cluster/v1/tick?after=CYCLE          waits for a tick above CYCLE (204 when the long-poll ends first)
//	POST /cluster/v1/report                    a Report (204; 409 from a member that does not write the partition)
//	POST /cluster/v1/caughtup                  a CaughtUp (204; 409 from a member not loading it)
//	POST /cluster/v1/leave                     a Leave: the worker stops; its partitions move away make-before-break (204)
//
// Operators:
//
//	GET  /status                               Status
//	POST /admin/drain?worker=ID                with "Authorization: Bearer TOKEN" (401 without, 403 wrong)
const (
	PathAssignment = "/cluster/v1/assignment"
	PathTick       = "/cluster/v1/tick"
	PathReport     = "/cluster/v1/report"
	PathCaughtUp   = "/cluster/v1/caughtup"
	PathLeave      = "/cluster/v1/leave"
	PathStatus     = "/status"
	PathDrain      = "/admin/drain"
)

const maxBody = 1 << 20

// Handler serves the coordinator's HTTP API.
func (c *Coordinator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathAssignment, c.serveAssignment)
	mux.HandleFunc("GET "+PathTick, c.serveTick)
	mux.HandleFunc("POST "+PathReport, func(w http.ResponseWriter, r *http.Request) {
		var rep Report
		if decode(w, r, &rep) {
			answer(w, c.Report(rep))
		}
	})
	mux.HandleFunc("POST "+PathCaughtUp, func(w http.ResponseWriter, r *http.Request) {
		var u CaughtUp
		if decode(w, r, &u) {
			answer(w, c.ReportCaughtUp(u))
		}
	})
	mux.HandleFunc("GET "+PathStatus, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, c.Status()) })
	mux.HandleFunc("POST "+PathDrain, c.serveDrain)
	mux.HandleFunc("POST "+PathLeave, func(w http.ResponseWriter, r *http.Request) {
		var l Leave
		if decode(w, r, &l) {
			if l.Worker == "" {
				writeError(w, http.StatusBadRequest, `{"worker"} is required`)
				return
			}
			answer(w, c.Drain(l.Worker))
		}
	})
	return mux
}

func (c *Coordinator) serveAssignment(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("after")
	if q == "" {
		writeJSON(w, http.StatusOK, c.Assignment())
		return
	}
	after, err := strconv.ParseInt(q, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("after=%q: not an epoch number", q))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.cfg.LongPoll)
	defer cancel()
	writeJSON(w, http.StatusOK, c.WaitAssignment(ctx, after))
}

func (c *Coordinator) serveTick(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("after")
	after, err := strconv.ParseInt(q, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("after=%q: want the last cycle seen (0 for none)", q))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.cfg.LongPoll)
	defer cancel()
	t, ok := c.NextTick(ctx, after)
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (c *Coordinator) serveDrain(w http.ResponseWriter, r *http.Request) {
	if c.token == "" {
		writeError(w, http.StatusForbidden, "admin calls are disabled: start the coordinator with --admin-token-file")
		return
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if auth == "" || !ok {
		writeError(w, http.StatusUnauthorized, "admin call without a token: send \"Authorization: Bearer TOKEN\"")
		return
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(c.token)) != 1 {
		writeError(w, http.StatusForbidden, "wrong admin token")
		return
	}
	worker := r.URL.Query().Get("worker")
	if worker == "" {
		writeError(w, http.StatusBadRequest, "worker=ID is required")
		return
	}
	answer(w, c.Drain(worker))
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("cannot decode the request body: %v", err))
		return false
	}
	return true
}

func answer(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrStale):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrBadRequest):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// NewServer is an http.Server for the handler, with timeouts that allow long-polls.
func (c *Coordinator) NewServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           c.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      c.cfg.LongPoll + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}
