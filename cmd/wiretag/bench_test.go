package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/processor/kafkatest"
	"github.com/wiretag/wiretag/processor/loadgen"
)

// wiretag bench, small: the three modes run this test binary as the processor,
// every story is accounted for (poison as dead letters), each phase has its
// figures, and the topics each mode created are gone afterwards.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the processor four times")
	}
	env := kafkatest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const stories, rate = 400, 200
	prefix := env.Name("bench-")
	var logs strings.Builder
	defer func() {
		if t.Failed() {
			t.Logf("bench output:\n%s", logs.String())
		}
	}()
	rep, err := loadgen.Run(ctx, loadgen.Options{
		Brokers: env.Brokers, Stories: stories, Rates: []int{rate}, RateDuration: time.Second, Poison: 0.05, Partitions: 2,
		Modes: []string{loadgen.ModePassThrough, loadgen.ModeSized, loadgen.ModeWiretag}, TopicPrefix: prefix, Progress: &logs, Exe: os.Args[0], ExtraEnv: []string{execEnv + "=1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 6 {
		t.Fatalf("%d results, want saturation and %d/s for three modes: %+v", len(rep.Results), rate, rep.Results)
	}
	for _, r := range rep.Results {
		want := stories
		if r.Rate > 0 {
			want = rate
		}
		if r.Stories != want || r.DeadLetters == 0 || r.DeadLetters > want/5 || r.StoriesPerSec <= 0 || r.CPUSecPer1000 < 0 || r.PeakRSSMB <= 0 || r.ProcessorError != "" {
			t.Errorf("%s %s: %+v", r.Mode, r.Load, r)
		}
		// CPU time comes in clock ticks: a saturation phase of 400 stories
		// may take less than one.
		if r.Rate > 0 && r.CPUSecPer1000 <= 0 {
			t.Errorf("%s %s: no CPU time measured", r.Mode, r.Load)
		}
		if r.Rate > 0 && !(r.P50ms > 0 && r.P50ms <= r.P99ms && r.P99ms <= r.P999ms) {
			t.Errorf("%s %s: latency percentiles %v/%v/%v", r.Mode, r.Load, r.P50ms, r.P99ms, r.P999ms)
		}
	}
	if rep.Ratio <= 0 || rep.RatioSized <= 0 {
		t.Errorf("ratios %v and %v", rep.Ratio, rep.RatioSized)
	}
	// A real broker's metadata may lag the deletion briefly.
	var left []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		md, err := env.Client.Metadata(ctx, &kafka.MetadataRequest{})
		if err != nil {
			t.Fatal(err)
		}
		left = left[:0]
		for _, tp := range md.Topics {
			if strings.HasPrefix(tp.Name, prefix) && tp.Error == nil {
				left = append(left, tp.Name)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("topics left behind: %v", left)
	}
}
