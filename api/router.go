package api

import (
	"context"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// route is one endpoint: a pattern ("GET /v1/matches/{match_id}": GET and HEAD, a path
// whose "{name}" segments match any one segment) and what answers it. The pattern is
// also the route's metrics label.
type route struct {
	pattern string
	segs    []string // "" marks a wildcard segment
	names   []string // the wildcards' names, in path order
	answer  func(r *request, b []byte) ([]byte, error)
	plain   fasthttp.RequestHandler // answers by itself (health checks, metrics)
}

// maxSegments bounds the path segments of a route, and so of a path worth matching.
const maxSegments = 8

func parsePattern(pattern string) *route {
	rt := &route{pattern: pattern}
	path, ok := strings.CutPrefix(pattern, "GET /")
	if !ok {
		panic("BUG: route " + pattern + " is not GET /...")
	}
	for _, seg := range strings.Split(path, "/") {
		if path == "" { // "GET /": no segments
			break
		}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			rt.names = append(rt.names, seg[1:len(seg)-1])
			seg = ""
		}
		rt.segs = append(rt.segs, seg)
	}
	if len(rt.segs) > maxSegments || len(rt.names) > maxWildcards {
		panic("BUG: route " + pattern + " has too many segments")
	}
	return rt
}

// newRoute routes pattern to an endpoint that appends its answer's JSON to a buffer.
func newRoute(pattern string, answer func(r *request, b []byte) ([]byte, error)) *route {
	rt := parsePattern(pattern)
	rt.answer = answer
	return rt
}

// plainRoute routes pattern to a handler that writes its own answer.
func plainRoute(pattern string, h fasthttp.RequestHandler) *route {
	rt := parsePattern(pattern)
	rt.plain = h
	return rt
}

// route finds the route of path (decoded and normalised by fasthttp) and sets r's path
// values; nil when none matches. A wildcard matches one non-empty segment.
func (s *Server) route(path []byte, r *request) *route {
	if len(path) == 0 || path[0] != '/' {
		return nil
	}
	var segs [maxSegments][]byte
	n := 0
	for rest := path[1:]; ; {
		if n == maxSegments {
			return nil // longer than any route
		}
		i := indexSlash(rest)
		if i < 0 {
			segs[n] = rest
			n++
			break
		}
		segs[n], rest = rest[:i], rest[i+1:]
		n++
	}
	if n == 1 && len(segs[0]) == 0 { // "/" has no segments
		n = 0
	}
next:
	for _, rt := range s.routes {
		if len(rt.segs) != n {
			continue
		}
		for k, lit := range rt.segs {
			if lit == "" {
				if len(segs[k]) == 0 {
					continue next
				}
			} else if string(segs[k]) != lit {
				continue next
			}
		}
		r.route = rt
		w := 0
		for k, lit := range rt.segs {
			if lit == "" {
				r.vals[w] = string(segs[k])
				w++
			}
		}
		return rt
	}
	return nil
}

func indexSlash(b []byte) int {
	for i, c := range b {
		if c == '/' {
			return i
		}
	}
	return -1
}

// maxWildcards bounds the path values of a route.
const maxWildcards = 3

// request is what an endpoint reads of an HTTP request: its route's path values, its
// query string, and the context that bounds its store reads. It lives for one request.
type request struct {
	ctx   context.Context
	route *route
	vals  [maxWildcards]string
	query []byte // raw, as sent
}

// Context bounds the request's store reads.
func (r *request) Context() context.Context { return r.ctx }

// PathValue returns the path segment matched by the route's wildcard name ("" if the
// route has none of that name).
func (r *request) PathValue(name string) string {
	for k, n := range r.route.names {
		if n == name {
			return r.vals[k]
		}
	}
	return ""
}

var requests = sync.Pool{New: func() any { return new(request) }}

func getRequest() *request { return requests.Get().(*request) }

func putRequest(r *request) {
	*r = request{}
	requests.Put(r)
}
