package rankstore

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/records"
)

// metrics reads the store's gauges at each scrape (a Collector: nothing is counted on
// the write path).
type metrics struct {
	s                                             *Store
	records, slots, held, mapped, file, keptTotal *prometheus.Desc
}

// RegisterMetrics exposes the store's size with reg: records held, bytes outside the
// Go heap (offheap.go) per namespace, which a node's Go metrics (go_memstats_*) do not
// count, the size of a namespace's file on disk (spill_linux.go), and the records Put
// kept in place (Kept).
func (s *Store) RegisterMetrics(reg prometheus.Registerer) error {
	ns := []string{"namespace"}
	return reg.Register(&metrics{
		s:       s,
		records: prometheus.NewDesc("leaderboard_store_records", "Records the embedded store holds (expired ones until a sweep drops them).", ns, nil),
		slots: prometheus.NewDesc("leaderboard_store_index_slots",
			"Slots of the embedded store's index tables (8 bytes each; leaderboard_store_records over this is how full they are: at most 80%, 53% after a growth).", ns, nil),
		held: prometheus.NewDesc("leaderboard_store_offheap_bytes",
			"Bytes the embedded store holds outside the Go heap: its records' slabs and its large index tables (not in go_memstats_*).", ns, nil),
		mapped: prometheus.NewDesc("leaderboard_store_mapped_bytes",
			"Bytes the embedded store has mapped outside the Go heap, free blocks included (the large ones are given back to the OS, so this exceeds what is resident).", ns, nil),
		file: prometheus.NewDesc("leaderboard_store_file_bytes",
			"Bytes of the file in the data dir that a namespace on disk (complete, with a data dir) keeps its records' bytes in; the node holds only their index and the pages it is writing or reading.", ns, nil),
		keptTotal: prometheus.NewDesc("leaderboard_store_kept_records_total",
			"Records written with the same bins as stored (Record.IfChanged) whose expiry alone was refreshed in place.", nil, nil),
	})
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.records
	ch <- m.slots
	ch <- m.held
	ch <- m.mapped
	ch <- m.file
	ch <- m.keptTotal
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, name := range []string{records.Live, records.Complete} {
		n := m.s.ns[name]
		count, slots := 0, 0
		for i := range n.shards {
			sh := &n.shards[i]
			sh.mu.RLock()
			count += sh.count
			slots += len(sh.slots)
			sh.mu.RUnlock()
		}
		ch <- prometheus.MustNewConstMetric(m.records, prometheus.GaugeValue, float64(count), name)
		ch <- prometheus.MustNewConstMetric(m.slots, prometheus.GaugeValue, float64(slots), name)
		ch <- prometheus.MustNewConstMetric(m.held, prometheus.GaugeValue, float64(n.heap.held()), name)
		ch <- prometheus.MustNewConstMetric(m.mapped, prometheus.GaugeValue, float64(n.heap.mapped.Load()), name)
		var file int64
		if n.heap.spill != nil {
			file = n.heap.spill.size()
		}
		ch <- prometheus.MustNewConstMetric(m.file, prometheus.GaugeValue, float64(file), name)
	}
	ch <- prometheus.MustNewConstMetric(m.keptTotal, prometheus.CounterValue, float64(m.s.Kept()))
}
