package service_test

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wiretag/wiretag/processor/kafkatest"
	"github.com/wiretag/wiretag/processor/service"
	"github.com/wiretag/wiretag/processor/stream"
)

// EnvLong enables the long drills (minutes, not seconds).
const EnvLong = "WIRETAG_TEST_LONG"

// 20,000 stories through three processors in one group over 6 partitions;
// one leaves mid-stream. Prints throughput, duplicates and losses.
func TestDrillLoadWithRebalance(t *testing.T) {
	if os.Getenv(EnvLong) == "" {
		t.Skipf("long drill; set %s=1 to run", EnvLong)
	}
	env := kafkatest.New(t)
	c := env.Config(t, 6)
	c.BatchSize = 500
	c.BatchWait = 50 * time.Millisecond
	c.Workers = 0
	withTestRules(t, env, &c, 2)
	ss := makeStories("drill", 20000)
	msgs := storyMessages(ss)
	t0 := time.Now()
	for i := 0; i < len(msgs); i += 2000 {
		env.Produce(t, c.InputTopic, msgs[i:min(i+2000, len(msgs))]...)
	}
	t.Logf("produced %d stories in %s", len(msgs), time.Since(t0).Round(time.Millisecond))

	var handled atomic.Int64
	obs := func(stream.Outcome) { handled.Add(1) }
	start1 := time.Now()
	procs := []*running{
		start(t, c, service.Hooks{Observe: obs}),
		start(t, c, service.Hooks{Observe: obs}),
		start(t, c, service.Hooks{Observe: obs}),
	}
	kafkatest.Eventually(t, 5*time.Minute, "8000 handled", func() bool { return handled.Load() >= 8000 })
	procs[0].stop(t)
	waitAllHandled(t, env, c, 10*time.Minute)
	took := time.Since(start1)
	waitCommittedToEnd(t, env, c, time.Minute)
	procs[1].stop(t)
	procs[2].stop(t)

	ids := enrichedIDs(t, env, c)
	lost, dups := 0, 0
	for _, s := range ss {
		if ids[s.ID] == 0 {
			lost++
		}
		dups += max(ids[s.ID]-1, 0)
	}
	t.Logf("drill: stories=%d processors=3 (one left mid-stream) handled=%d in %s (%.0f stories/s) lost=%d duplicates=%d",
		len(ss), handled.Load(), took.Round(time.Millisecond), float64(len(ss))/took.Seconds(), lost, dups)
	if lost > 0 {
		t.Errorf("%d stories lost", lost)
	}
}
