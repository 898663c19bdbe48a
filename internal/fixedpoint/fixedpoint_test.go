package fixedpoint

import (
	"strconv"
	"testing"
)

func TestFormatUnits(t *testing.T) {
	for u, want := range map[int64]string{0: "0", 200: "1", -400: "-2", 10500: "52.5", 10425: "52.125", 1: "0.005", -1: "-0.005", 25: "0.125", 4850: "24.25"} {
		if got := FormatUnits(u); got != want {
			t.Errorf("FormatUnits(%d) = %q, want %q", u, got, want)
		}
		// The decimal parses back to the nearest double of u/200.
		if f, err := strconv.ParseFloat(FormatUnits(u), 64); err != nil || f != float64(u)/PointsScale {
			t.Errorf("FormatUnits(%d) = %q does not parse to %v", u, FormatUnits(u), float64(u)/PointsScale)
		}
	}
	// Every fraction, both signs, against the plain decimal rendering.
	for u := int64(-1000); u <= 1000; u++ {
		want := strconv.FormatFloat(float64(u)/PointsScale, 'f', -1, 64)
		if got := FormatUnits(u); got != want {
			t.Fatalf("FormatUnits(%d) = %q, want %q", u, got, want)
		}
	}
	if FormatCenti(-250) != "-2.5" || TeamUnits(100, 10, 4) != 224 {
		t.Fatal("FormatCenti or TeamUnits")
	}
}

func TestCentipoints(t *testing.T) {
	for _, v := range []float64{0, 0.29, -0.29, 52.5, 99999.99, -2} {
		c, err := Centipoints(v)
		if err != nil || FormatCenti(c) != strconv.FormatFloat(v, 'f', -1, 64) {
			t.Errorf("Centipoints(%v) = %d, %v", v, c, err)
		}
	}
	for _, v := range []float64{0.001, 1e6, 0.125} {
		if _, err := Centipoints(v); err == nil {
			t.Errorf("Centipoints(%v) accepted", v)
		}
	}
}
