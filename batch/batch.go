// Package batch runs the engine over Parquet datasets: the drop-in replacement for the
// Spark batch job. Load reads entries.parquet into an engine.Partition, Snapshot reads a
// points file, WriteRanks writes ranks.parquet in display order.
package batch

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/fantasy/leaderboard/dataset"
	"github.com/fantasy/leaderboard/engine"
)

// Dataset file names inside a dataset directory.
const (
	EntriesFile = "entries.parquet"
	PointsFile  = "points.parquet"
)

// Progress is told how many of total rows are done; total is 0 when unknown.
type Progress func(done, total int64)

// Load reads dir/entries.parquet into a partition. lineupSize 0 takes the first entry's.
// Errors name the file and, for a bad entry, the entry.
func Load(ctx context.Context, dir string, lineupSize int, cfg engine.Config, progress Progress) (*engine.Partition, error) {
	path := filepath.Join(dir, EntriesFile)
	total, err := dataset.CountRows(path)
	if err != nil {
		return nil, err
	}
	b := engine.NewBuilder(lineupSize, int(total))
	var done int64
	err = dataset.ReadEntries(ctx, path, 0, func(rec arrow.RecordBatch) error {
		if err := b.Append(rec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		done += rec.NumRows()
		if progress != nil {
			progress(done, total)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p, err := b.Build(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Snapshot reads a points file (player_id int32, points double) into a snapshot.
func Snapshot(path string) (*engine.Snapshot, error) {
	ids, pts, err := dataset.ReadPoints(path)
	if err != nil {
		return nil, err
	}
	s, err := engine.NewSnapshot(ids, pts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// WriteRanks writes the partition's last cycle to path as ranks.parquet, one row per
// entry, contests ascending and each in display order. Nothing is left at path on error.
func WriteRanks(ctx context.Context, p *engine.Partition, path string, progress Progress) (err error) {
	w, err := dataset.NewRanksWriter(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	const chunk = 1 << 16
	contest := make([]int64, 0, chunk)
	entry := make([]int64, 0, chunk)
	points := make([]float64, 0, chunk)
	rank := make([]int64, 0, chunk)
	flush := func() error {
		err := w.Write(contest, entry, points, rank)
		contest, entry, points, rank = contest[:0], entry[:0], points[:0], rank[:0]
		return err
	}
	total := int64(p.NumEntries())
	var done int64
	var ranks []uint32
	for c := range p.NumContests() {
		id := p.Contest(c).ID
		ranks = p.Ranks(c, ranks[:0])
		pts := p.PointsOrdered(c)
		for j, i := range p.Ordered(c) {
			contest = append(contest, id)
			entry = append(entry, p.EntryID(int(i)))
			points = append(points, engine.UnitsToFloat(pts[j]))
			rank = append(rank, int64(ranks[j]))
			if len(entry) == chunk {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := flush(); err != nil {
					return err
				}
				done += chunk
				if progress != nil {
					progress(done, total)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if progress != nil {
		progress(total, total)
	}
	return w.Close()
}
