package api

// GET /v1/entries/{entry_id}: one entry's answer (as GET /v1/contests/{contest_id}/
// entries/{entry_id}), found by its id alone: the entry record names its contest. It lets
// a fan who knows an entry id but not its contest find it (the web page's entry search).
func (s *Server) entryByID(r *request, b []byte) ([]byte, error) {
	eid, err := pathID(r, "entry_id")
	if err != nil {
		return b, err
	}
	ctx := r.Context()
	e, at, err := s.readEntry(ctx, eid)
	if err != nil {
		return b, err
	}
	if at == "" {
		return b, notFound("entry %d not found", eid)
	}
	var st standing
	for try := 0; ; try++ {
		st, err = s.stand(ctx, at, e, false)
		if err = s.retry(ctx, "entry", e.ID, try, err); err != errRetry {
			break
		}
	}
	if err != nil {
		return b, err
	}
	a := entryStanding{ContestID: e.Contest, MatchID: e.Match, EntryID: e.ID, UserID: e.User, TeamID: e.Team,
		Rank: st.Rank, Points: units(st.points), Total: st.c.Total, Cycle: st.c.Cycle, AsOf: asOf(st.c.AsOf)}
	return a.appendJSON(b), nil
}
