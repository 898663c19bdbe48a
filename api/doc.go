// Package api is the leaderboard's HTTP JSON server. It is stateless: every answer is
// read from the rank store through the small Store interface (the embedded rankstore and
// the Aerospike client both satisfy it), so API processes scale horizontally.
//
// Routes (docs/API.md has examples, status codes and the reads of each):
//
//	GET /v1/matches                                        every known match
//	GET /v1/matches/{match_id}                             one match and its players' points
//	GET /v1/matches/{match_id}/contests?offset=&limit=     contests, largest first
//	GET /v1/contests/{contest_id}/leaderboard?offset=&limit=
//	GET /v1/contests/{contest_id}/entries/{entry_id}       one entry's rank and points
//	GET /v1/contests/{contest_id}/entries/{entry_id}/around?before=&after=
//	GET /v1/contests/{contest_id}/entries/{entry_id}/history?since=   its points per cycle
//	GET /v1/entries/{entry_id}                             one entry, by its id alone
//	GET /v1/users/{user_id}/entries?match_id=              a user's entries in a match
//	GET /, /web/{file}                                     the web leaderboard (web.go, web/)
//	GET /console, /console/{file}, /console/v1/overview    the operator console, once SetConsole (console.go)
//	GET /healthz, /readyz                                 probes (also on the admin listener)
//
// Metrics and Go's profiles are not on this port: AdminHandler serves /metrics,
// /debug/pprof/ and the probes, for a listener of their own (--admin-http).
//
// Reading rules, from docs/STORAGE.md:
//
//   - Namespaces: the first record of an answer is read from records.Live, and from
//     records.Complete when live lacks it; the records it leads to are read from the
//     namespace that held it first, then from the other. Pages are read only from their
//     contest's namespace, and the matches list is the union of both namespaces.
//   - One cycle per answer: each entries partition's writer writes its share of a match
//     (records.MatchPart: cycle, points log), then pages, then contests; the match's
//     commit (records.Match: visible cycle, partitions) comes last. A page newer than its
//     contest, a missing or short page, a partition's share missing or behind its
//     contest's cycle, or an entry's points absent from its contest's histogram mean the
//     answer caught a cycle being written: it reads again (after 2 ms, then 4 ms), three
//     times in all, and then answers 503 (retry).
//   - Points are exact: team points (units of 1/200 point) are rendered by
//     fixedpoint.FormatUnits as raw JSON numbers; no float is involved. An entry's points
//     are its lineup over its partition's points log replayed to the contest record's cycle,
//     so they always belong to the cycle whose rank they show.
//   - Every answer carries the cycle and as_of (RFC 3339, UTC, milliseconds) of what it
//     shows. Errors are {"error": "..."}: 400 for a malformed id or parameter, 404 for an
//     unknown match, contest, entry or user, 503 when the store fails or stays mid-write,
//     500 only for a record that cannot be decoded (a bug, logged).
//
// Server is built by New from a Config, a Store, a logger, a Prometheus registry (which
// receives the request-duration histogram by route and status; AdminHandler serves it)
// and a readiness function; Serve runs it on a listener until its context is cancelled.
// A malformed request is answered and logged without any of its bytes (they may hold
// credentials).
package api
