package main

import "github.com/prometheus/client_golang/prometheus"

// registerReady exposes a process's /readyz answer as leaderboard_node_ready (1 ready,
// 0 not), read at each scrape, for the NodeNotReady alert and the dashboard.
func registerReady(reg prometheus.Registerer, ready func() bool) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "leaderboard_node_ready",
		Help: "1 while the process answers /readyz with 200 (every part alive, every owned partition caught up and published; for api, the store answering), else 0.",
	}, func() float64 {
		if ready() {
			return 1
		}
		return 0
	}))
}
