package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestLagSeriesExpire(t *testing.T) {
	l := NewLagVec(time.Minute)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	reg := prometheus.NewRegistry()
	reg.MustRegister(l)
	l.WithLabelValues("in", "0").Set(5)
	l.WithLabelValues("in", "1").Set(7)
	count := func() int {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, mf := range mfs {
			if strings.HasSuffix(mf.GetName(), "consumer_lag") {
				n += len(mf.GetMetric())
			}
		}
		return n
	}
	if count() != 2 {
		t.Fatal("want 2 series")
	}
	now = now.Add(50 * time.Second)
	l.WithLabelValues("in", "0").Set(3) // still fetched
	now = now.Add(20 * time.Second)     // partition 1 unset for 70s
	if got := count(); got != 1 {
		t.Fatalf("want partition 1 expired, %d series", got)
	}
}
