package partition

import (
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// javaMurmur2 is Kafka's Utils.murmur2 transcribed with Java's signed int arithmetic,
// independently of Murmur2.
func javaMurmur2(data []byte) int32 {
	length := int32(len(data))
	const seed = int32(-1756908916) // 0x9747b28c
	const m = int32(0x5bd1e995)
	const r = 24
	h := seed ^ length
	for i := int32(0); i < length/4; i++ {
		i4 := i * 4
		k := int32(data[i4+0]) + int32(data[i4+1])<<8 + int32(data[i4+2])<<16 + int32(data[i4+3])<<24
		k *= m
		k ^= int32(uint32(k) >> r) // Java >>>
		k *= m
		h *= m
		h ^= k
	}
	switch length % 4 {
	case 3:
		h ^= int32(data[(length&^3)+2]) << 16
		fallthrough
	case 2:
		h ^= int32(data[(length&^3)+1]) << 8
		fallthrough
	case 1:
		h ^= int32(data[length&^3])
		h *= m
	}
	h ^= int32(uint32(h) >> 13)
	h *= m
	h ^= int32(uint32(h) >> 15)
	return h
}

// javaPartition is Kafka's BuiltInPartitioner.partitionForKey: Utils.toPositive(murmur2) % n.
func javaPartition(key []byte, n int32) int32 { return (javaMurmur2(key) & 0x7fffffff) % n }

func TestMurmur2KafkaVectors(t *testing.T) {
	// Kafka's UtilsTest.testMurmur2 vectors (also franz-go's TestMurmur2KafkaVectors).
	for key, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
		"":    275646681,
	} {
		if got := int32(Murmur2([]byte(key))); got != want {
			t.Errorf("Murmur2(%q) = %d, want %d", key, got, want)
		}
		if got := javaMurmur2([]byte(key)); got != want {
			t.Errorf("javaMurmur2(%q) = %d, want %d (the transcription is wrong)", key, got, want)
		}
	}
	// By hand from the vector above: (-790332482 & 0x7fffffff) % 50 = 1357151166 % 50 = 16.
	if got := OfKey([]byte("foobar"), 50); got != 16 {
		t.Errorf(`OfKey("foobar", 50) = %d, want 16`, got)
	}
}

// The partition of a contest is what Kafka's Java client and franz-go's Kafka-compatible
// partitioner (StickyKeyPartitioner with a nil hasher) pick for the decimal key.
func TestOfContestMatchesKafka(t *testing.T) {
	kafka := kgo.StickyKeyPartitioner(nil).ForTopic("lb.entries")
	check := func(c int64, n int) {
		t.Helper()
		key := []byte(strconv.FormatInt(c, 10))
		got := OfContest(c, n)
		if want := javaPartition(key, int32(n)); got != want {
			t.Fatalf("OfContest(%d, %d) = %d, Java gives %d", c, n, got, want)
		}
		if want := kafka.Partition(&kgo.Record{Key: key}, n); int(got) != want {
			t.Fatalf("OfContest(%d, %d) = %d, franz-go's Kafka partitioner gives %d", c, n, got, want)
		}
	}
	// Every key length (1..19 digits, so every murmur2 tail), negative ids, the extremes.
	for _, n := range []int{1, 2, 3, 16, 50, 64, 255, 256, 1000} {
		for _, c := range []int64{0, 1, 7, 10, 99, 123, 1000, 65535, 1000001, 987654321, -1, -42,
			1<<31 - 1, 1 << 31, 1<<53 + 1, 1<<63 - 1, -1 << 63} {
			check(c, n)
		}
	}
	for c := int64(1); c < 5000; c++ {
		check(c, 16)
		check(c*7919, 64)
	}
}

func TestOfContestPanicsOnNoPartitions(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("OfContest(1, 0) did not panic")
		}
	}()
	OfContest(1, 0)
}

func BenchmarkOfContest(b *testing.B) {
	b.ReportAllocs()
	var sink int32
	for i := range b.N {
		sink += OfContest(int64(i), 64)
	}
	_ = sink
}
