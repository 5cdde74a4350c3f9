package service_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/processor/kafkatest"
	"github.com/wiretag/wiretag/processor/service"
)

// The names the deploy engineer's alerts use; they must all be exported.
var metricNames = []string{
	"wiretag_consumed_total", "wiretag_produced_total", "wiretag_dead_letters_total", "wiretag_alerts_total",
	"wiretag_topic_tags_total", "wiretag_actor_tags_total", "wiretag_processing_seconds", "wiretag_end_to_end_seconds", "wiretag_write_records", "wiretag_stage_seconds",
	"wiretag_consumer_lag", "wiretag_in_flight", "wiretag_produce_retries_total", "wiretag_produce_failures_total",
	"wiretag_commits_total", "wiretag_commit_failures_total", "wiretag_ready", "wiretag_last_commit_timestamp_seconds",
	"wiretag_reloads_total", "wiretag_build_info", "go_goroutines", "process_cpu_seconds_total",
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	env := kafkatest.New(t)
	c := env.Config(t, 2)
	c.HTTPAddr = "127.0.0.1:0"
	withTestRules(t, env, &c, 1)
	env.Produce(t, c.InputTopic, append(storyMessages(makeStories("ops", 14)), kafka.Message{Key: []byte("bad"), Value: []byte("[]")})...)

	addr := make(chan net.Addr, 1)
	r := start(t, c, service.Hooks{HTTPStarted: func(a net.Addr) { addr <- a }})
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case <-time.After(30 * time.Second):
		t.Fatal("http server did not start")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitAllHandled(t, env, c, 60*time.Second)
	kafkatest.Eventually(t, 30*time.Second, "/readyz 200", func() bool { code, _ := get("/readyz"); return code == 200 })
	if code, body := get("/healthz"); code != 200 {
		t.Fatalf("/healthz %d %s", code, body)
	}
	_, body := get("/metrics")
	for _, n := range metricNames {
		if !strings.Contains(body, "\n"+n) {
			t.Errorf("/metrics lacks %s", n)
		}
	}
	for _, want := range []string{
		`wiretag_produced_total{kind="enriched",topic="` + c.EnrichedTopic + `"} 14`,
		`wiretag_dead_letters_total{reason="not_a_story"} 1`,
		`wiretag_consumed_total{topic="` + c.InputTopic + `"} 15`,
		`wiretag_ready 1`,
		`wiretag_build_info{version="test"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Every stage of a batch was timed.
	for _, stage := range []string{"batching", "tagging", "write_queue", "writing"} {
		if !strings.Contains(body, `wiretag_stage_seconds_count{stage="`+stage+`"} `) {
			t.Errorf("/metrics lacks the %s stage", stage)
		}
	}
	r.stop(t)
}
