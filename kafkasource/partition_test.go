package kafkasource

import (
	"strconv"
	"testing"
)

// javaMurmur2 is Kafka's Utils.murmur2 transcribed with Java's signed int arithmetic,
// independently of murmur2 in publisher.go.
func javaMurmur2(data []byte) int32 {
	length := int32(len(data))
	const seed = int32(-1756908916) // 0x9747b28c
	const m = int32(0x5bd1e995)
	const r = 24
	h := seed ^ length
	length4 := length / 4
	for i := int32(0); i < length4; i++ {
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

// javaPartition is Kafka's BuiltInPartitioner.partitionForKey: toPositive(murmur2) % n.
func javaPartition(key []byte, n int32) int32 { return (javaMurmur2(key) & 0x7fffffff) % n }

func TestMurmur2MatchesJava(t *testing.T) {
	// Kafka's UtilsTest.testMurmur2 vectors.
	for key, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
		"":    275646681,
	} {
		if got := javaMurmur2([]byte(key)); got != want {
			t.Errorf("javaMurmur2(%q) = %d, want %d", key, got, want)
		}
		if got := int32(murmur2([]byte(key))); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", key, got, want)
		}
	}
	if got := javaPartition([]byte("foobar"), 50); got != 16 {
		t.Errorf(`partition of "foobar" among 50 = %d, want 16`, got)
	}
	// Contest keys, including every remainder length and large ids.
	for _, n := range []int32{1, 3, 16, 50, 64, 1000} {
		for _, c := range []int64{1, 7, 10, 99, 123, 1000, 65535, 1000001, 987654321, 1<<53 + 1, 1<<63 - 1} {
			key := []byte(strconv.FormatInt(c, 10))
			if got, want := EntryPartition(c, int(n)), javaPartition(key, n); got != want {
				t.Errorf("EntryPartition(%d, %d) = %d, Java gives %d", c, n, got, want)
			}
		}
	}
	for c := int64(1); c < 20000; c++ {
		if got, want := EntryPartition(c, 16), javaPartition([]byte(strconv.FormatInt(c, 10)), 16); got != want {
			t.Fatalf("EntryPartition(%d, 16) = %d, Java gives %d", c, got, want)
		}
	}
}
