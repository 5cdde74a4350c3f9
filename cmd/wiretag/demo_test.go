package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wiretag/wiretag/config"
)

// The README's first command: the demo runs with no Kafka installed, the
// samples all come through enriched, and some alerts fire.
func TestDemoOnce(t *testing.T) {
	samples, err := config.Samples()
	if err != nil || len(samples) == 0 {
		t.Fatalf("samples: %d %v", len(samples), err)
	}
	var out bytes.Buffer
	if err := demo("127.0.0.1:0", true, 2, "", time.Minute, false, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	m := regexp.MustCompile(`summary: (\d+) stories processed \((\d+) samples\) in \S+: (\d+) enriched, (\d+) alerts`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no summary:\n%s", s)
	}
	n, _ := strconv.Atoi(m[1])
	enriched, _ := strconv.Atoi(m[3])
	alerts, _ := strconv.Atoi(m[4])
	if n != len(samples) || enriched != len(samples) || alerts == 0 {
		t.Fatalf("summary %q: want %d stories all enriched and some alerts", m[0], len(samples))
	}
	for _, sm := range samples {
		if !strings.Contains(s, "● "+sm.ID) {
			t.Errorf("sample %s not shown", sm.ID)
		}
	}
	if !strings.Contains(s, "⚑ alert ") {
		t.Error("no alert line shown")
	}
	t.Log(m[0])
}
