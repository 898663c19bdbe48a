//go:build linux

package worker

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// vmFlags returns the VmFlags and the AnonHugePages (kB) of the mapping of
// /proc/self/smaps that holds address a.
func vmFlags(t *testing.T, a uintptr) ([]string, int) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps (%v): a Linux with procfs mounted is needed", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, hugeKB := false, 0
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 && strings.Contains(line[:strings.IndexByte(line, ' ')], "-") {
			in = lo <= a && a < hi
			continue
		}
		if in && strings.HasPrefix(line, "AnonHugePages:") {
			fmt.Sscanf(strings.TrimPrefix(line, "AnonHugePages:"), "%d", &hugeKB)
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.Fields(strings.TrimPrefix(line, "VmFlags:")), hugeKB
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("no mapping in /proc/self/smaps holds %#x", a)
	return nil, 0
}

// TestTableSlotsAdvisedHuge: a table reserved for enough keys (a replaying partition's
// entry table, a match's team table) went through adviseHuge (its slots' mapping is left
// advised MADV_NOHUGEPAGE, VmFlags "nh", after the huge pages were faulted in under
// MADV_HUGEPAGE: whether the kernel had huge pages to give is the machine's, logged),
// and still holds what is put in it.
func TestTableSlotsAdvisedHuge(t *testing.T) {
	var tb table
	tb.reserve(hugeSlots) // 4/3 of it in slots
	if len(tb.slots) < hugeSlots {
		t.Fatalf("reserve(%d) gave %d slots", hugeSlots, len(tb.slots))
	}
	mid := uintptr(unsafe.Pointer(&tb.slots[len(tb.slots)/2]))
	flags, hugeKB := vmFlags(t, mid)
	if !slicesContains(flags, "nh") {
		t.Fatalf("the slots' mapping has VmFlags %v: no nh (adviseHuge not called)", flags)
	}
	t.Logf("the slots' mapping: VmFlags %v, AnonHugePages %d kB", flags, hugeKB)
	for k := int64(1); k <= 1000; k++ {
		tb.put(k*7919, -k)
	}
	for k := int64(1); k <= 1000; k++ {
		if v, ok := tb.get(k * 7919); !ok || v != -k {
			t.Fatalf("get(%d) = %d, %v; want %d, true", k*7919, v, ok, -k)
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
