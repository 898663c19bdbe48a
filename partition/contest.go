package partition

import (
	"fmt"
	"strconv"
)

// OfContest is the partition of a contest among partitions: Kafka's default (Java client)
// partitioner applied to the decimal contest_id, toPositive(murmur2(key)) % partitions. It
// is at once the lb.entries Kafka partition that carries the contest's entry events and the
// engine partition that ranks it, which is why a contest is always ranked whole by one
// worker. partitions < 1 is a bug in the caller (the count comes from topic metadata).
func OfContest(contestID int64, partitions int) int32 {
	if partitions < 1 {
		panic(fmt.Sprintf("BUG: partition.OfContest(%d, %d partitions)", contestID, partitions))
	}
	var buf [20]byte
	return OfKey(strconv.AppendInt(buf[:0], contestID, 10), partitions)
}

// OfKey is the partition Kafka's default partitioner gives a non-nil record key among
// partitions (> 0): Utils.toPositive(Utils.murmur2(key)) % partitions.
func OfKey(key []byte, partitions int) int32 {
	return int32(Murmur2(key)&0x7fffffff) % int32(partitions)
}

// Murmur2 is Kafka's Utils.murmur2 (MurmurHash2, seed 0x9747b28c), as an unsigned value;
// int32(Murmur2(b)) is what the Java method returns.
func Murmur2(b []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	h := seed ^ uint32(len(b))
	for ; len(b) >= 4; b = b[4:] {
		k := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
