package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Limits of the query parameters.
const (
	defaultLimit  = 50   // leaderboard and contest list page
	maxLimit      = 1000 // leaderboard and contest list page
	defaultAround = 5    // rows before and after an entry
	maxAround     = 100
)

// quote renders user input for an error message, cut short so that an answer never
// echoes a huge parameter.
func quote(s string) string {
	const most = 40
	if len(s) > most {
		return strconv.Quote(s[:most]) + "..."
	}
	return strconv.Quote(s)
}

// parseID parses an integer id (match, contest, entry, user). Ids are int64 and may be
// negative; a leading '+' is refused so that every id has one spelling besides leading zeros.
func parseID(name, s string) (int64, error) {
	if s == "" {
		return 0, badRequest("%s is required", name)
	}
	if s[0] == '+' {
		return 0, badRequest("%s %s is not an integer id", name, quote(s))
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, badRequest("%s %s is not an integer id", name, quote(s))
	}
	return v, nil
}

// pathID parses the id in the path segment name.
func pathID(r *request, name string) (int64, error) {
	return parseID(name, r.PathValue(name))
}

// query parses the request's query string, refusing a malformed one rather than dropping
// the parts it cannot read.
func query(r *request) (url.Values, error) {
	q, err := url.ParseQuery(string(r.query))
	if err != nil {
		return nil, badRequest("malformed query string: %v", err)
	}
	return q, nil
}

// intParam reads the optional integer parameter name, def when absent, within [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int64) (int64, error) {
	vs, ok := q[name]
	if !ok || len(vs) == 0 {
		return def, nil
	}
	if len(vs) > 1 {
		return 0, badRequest("%s is given %d times", name, len(vs))
	}
	s := vs[0]
	if s == "" || s[0] == '+' {
		return 0, badRequest("%s %s is not an integer", name, quote(s))
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, badRequest("%s %s is not an integer", name, quote(s))
	}
	if v < lo || v > hi {
		if hi == maxInt64 {
			return 0, badRequest("%s %d is out of range: must be >= %d", name, v, lo)
		}
		return 0, badRequest("%s %d is out of range [%d, %d]", name, v, lo, hi)
	}
	return v, nil
}

const maxInt64 = 1<<63 - 1

// window is an offset and a limit.
type window struct{ offset, limit int64 }

// pageParams reads offset (>= 0, default 0) and limit (1..1000, default 50).
func pageParams(q url.Values) (window, error) {
	off, err := intParam(q, "offset", 0, 0, maxInt64)
	if err != nil {
		return window{}, err
	}
	lim, err := intParam(q, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return window{}, err
	}
	return window{off, lim}, nil
}

// idAndPage reads a listing's path id name and its window (see pageParams).
func idAndPage(r *request, name string) (int64, window, error) {
	id, err := pathID(r, name)
	if err != nil {
		return 0, window{}, err
	}
	q, err := query(r)
	if err != nil {
		return 0, window{}, err
	}
	w, err := pageParams(q)
	return id, w, err
}

// aroundParams reads before and after (0..100, default 5 each).
func aroundParams(q url.Values) (before, after int64, err error) {
	if before, err = intParam(q, "before", defaultAround, 0, maxAround); err != nil {
		return 0, 0, err
	}
	if after, err = intParam(q, "after", defaultAround, 0, maxAround); err != nil {
		return 0, 0, err
	}
	return before, after, nil
}

// requiredID reads the required id parameter name from the query.
func requiredID(q url.Values, name string) (int64, error) {
	vs := q[name]
	switch {
	case len(vs) == 0:
		return 0, badRequest("%s is required", name)
	case len(vs) > 1:
		return 0, badRequest("%s is given %d times", name, len(vs))
	}
	return parseID(name, vs[0])
}

// httpError is an answer other than 200: its status and the message of {"error": ...}.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func badRequest(format string, args ...any) *httpError {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *httpError {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func unavailable(format string, args ...any) *httpError {
	return &httpError{http.StatusServiceUnavailable, fmt.Sprintf(format, args...)}
}

func internal(format string, args ...any) *httpError {
	return &httpError{http.StatusInternalServerError, fmt.Sprintf(format, args...)}
}
