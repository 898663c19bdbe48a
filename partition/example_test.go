package partition_test

import (
	"fmt"

	"github.com/fantasy/leaderboard/partition"
)

func ExampleOfContest() {
	// The partition Kafka's default partitioner gives the key "1001" among 16 partitions.
	fmt.Println(partition.OfContest(1001, 16))
	// Output: 4
}

func ExampleMoves() {
	cfg := partition.Config{LoadFactor: partition.DefaultLoadFactor}
	three := []partition.Member{{ID: "w1", Capacity: 1}, {ID: "w2", Capacity: 1}, {ID: "w3", Capacity: 1}}
	before, _ := partition.Assign(cfg, 1, 16, three)
	after, _ := partition.Assign(cfg, 2, 16, append(three, partition.Member{ID: "w4", Capacity: 1}))
	moves, _ := partition.Moves(before, after)
	toNew := 0
	for _, m := range moves {
		if m.To == "w4" {
			toNew++
		}
	}
	fmt.Printf("%d of 16 partitions move, %d of them to w4; w4 owns %v\n", len(moves), toNew, after.Owned("w4"))
	// Output: 5 of 16 partitions move, 5 of them to w4; w4 owns [1 3 9 10 12]
}
