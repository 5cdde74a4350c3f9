package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wiretag/wiretag/processor/kafkatest"
	"github.com/wiretag/wiretag/schema"
)

// The end-to-end tests run this test binary as the wiretag command (so no
// separate build is needed) and talk to it only through Kafka and HTTP.
const execEnv = "WIRETAG_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		os.Args = append([]string{"wiretag"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

// kcatRecord is one line of kcat -C -J.
type kcatRecord struct {
	Topic     string  `json:"topic"`
	Partition int     `json:"partition"`
	Offset    int64   `json:"offset"`
	Key       *string `json:"key"`
	Payload   *string `json:"payload"`
	Headers   []string
	RawHdrs   json.RawMessage `json:"headers"`
}

func (r kcatRecord) header(k string) (string, bool) {
	for i := 0; i+1 < len(r.Headers); i += 2 {
		if r.Headers[i] == k {
			return r.Headers[i+1], true
		}
	}
	return "", false
}

// freePort asks the kernel for a loopback port.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestKcatInterop produces stories with kcat (keys and headers), runs
// `wiretag run` as a separate process, and reads the enriched, alert and
// dead-letter topics back with kcat -C -J. It runs against kfake by default
// and against a real broker when WIRETAG_TEST_BROKERS is set; it needs kcat.
func TestKcatInterop(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install kcat); .ci/run installs it")
	}
	env := kafkatest.New(t)
	cfg := env.Config(t, 3)
	alertTopic := env.Name("alerts-ceasefire")
	env.CreateTopics(t, 1, alertTopic)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(rules, []byte(fmt.Sprintf("rules:\n  - name: ceasefire\n    topic: %s\n    topics:\n      any: [ceasefire]\n", alertTopic)), 0o644)
	broker := strings.Join(cfg.Brokers, ",")
	httpAddr := freePort(t)

	cmd := exec.Command(os.Args[0], "run")
	cmd.Env = append(os.Environ(), execEnv+"=1",
		"WIRETAG_BROKERS="+broker, "WIRETAG_INPUT_TOPIC="+cfg.InputTopic, "WIRETAG_ENRICHED_TOPIC="+cfg.EnrichedTopic,
		"WIRETAG_DEAD_LETTER_TOPIC="+cfg.DeadLetterTopic, "WIRETAG_GROUP_ID="+cfg.GroupID, "WIRETAG_RULES_FILE="+rules,
		"WIRETAG_HTTP_ADDR="+httpAddr, "WIRETAG_LOG_LEVEL=info", "WIRETAG_BATCH_WAIT=20ms", "WIRETAG_SHUTDOWN_TIMEOUT=10s")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("wiretag logs:\n%s", logs.String())
		}
	}()

	// Three stories of our own, a plain-text story, and two poison messages,
	// produced by kcat with keys (tab-separated) and headers.
	stories := []struct{ key, value string }{
		{"e2e-en", `{"id":"e2e-en","headline":"Kremlin weighs ceasefire","body":"Vladimir Putin told Steve Witkoff that Russia could accept a ceasefire if Ukraine withdrew."}`},
		{"e2e-ar", `{"id":"e2e-ar","lang":"ar","headline":"","body":"قال ويتكوف إن المحادثات مع أوميروف في ميامي بشأن خطة السلام كانت مثمرة."}`},
		{"e2e-ru", `{"id":"e2e-ru","headline":"Песков о переговорах","body":"Дмитрий Песков заявил, что Кремль изучает мирный план США."}`},
		{"e2e-text", `Plain text: Zelensky met Macron in Paris to discuss security guarantees for Ukraine.`},
		{"e2e-badjson", `{"id":"e2e-badjson","body":`},
		{"e2e-empty", ``},
	}
	var in bytes.Buffer
	for _, s := range stories {
		fmt.Fprintf(&in, "%s\t%s\n", s.key, s.value)
	}
	prod := exec.Command(kcat, "-P", "-b", broker, "-t", cfg.InputTopic, "-K", "\t", "-Z",
		"-H", "traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "-H", "x-desk=e2e")
	prod.Stdin = &in
	if out, err := prod.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s", err, out)
	}

	enriched := waitRecords(t, kcat, broker, cfg.EnrichedTopic, 4)
	dead := waitRecords(t, kcat, broker, cfg.DeadLetterTopic, 2)
	alerts := waitRecords(t, kcat, broker, alertTopic, 1)

	keys := map[string]kcatRecord{}
	for _, r := range enriched {
		if r.Key == nil || r.Payload == nil {
			t.Fatalf("enriched record without key or payload: %+v", r)
		}
		keys[*r.Key] = r
		if err := schema.ValidateEnriched([]byte(*r.Payload)); err != nil {
			t.Errorf("enriched %s does not validate: %v", *r.Key, err)
		}
		if tp, _ := r.header("traceparent"); !strings.HasPrefix(tp, "00-0af7651916cd43dd") {
			t.Errorf("enriched %s: traceparent not passed through: %v", *r.Key, r.Headers)
		}
		for _, h := range []string{"wiretag-source-topic", "wiretag-source-partition", "wiretag-source-offset", "wiretag-idempotency-key"} {
			if v, ok := r.header(h); !ok || v == "" {
				t.Errorf("enriched %s lacks header %s: %v", *r.Key, h, r.Headers)
			}
		}
	}
	for _, k := range []string{"e2e-en", "e2e-ar", "e2e-ru", "e2e-text"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("no enriched record with key %s (have %d)", k, len(keys))
		}
	}
	var en schema.Enriched
	if r, ok := keys["e2e-en"]; ok {
		json.Unmarshal([]byte(*r.Payload), &en)
		var ids []string
		for _, a := range en.Actors {
			ids = append(ids, a.ID)
		}
		if !strings.Contains(strings.Join(ids, ","), "vladimir_putin") || len(en.Topics) == 0 {
			t.Errorf("e2e-en not tagged: actors %v topics %v", ids, en.Topics)
		}
	}
	if r, ok := keys["e2e-text"]; ok && !strings.Contains(*r.Payload, `"format":"text"`) {
		t.Errorf("plain-text story not decoded as text: %s", *r.Payload)
	}

	classes := map[string]kcatRecord{}
	for _, r := range dead {
		c, _ := r.header("wiretag-error-class")
		classes[c] = r
	}
	if r, ok := classes["invalid_json"]; !ok {
		t.Errorf("no invalid_json dead letter: %v", dead)
	} else if r.Payload == nil || *r.Payload != `{"id":"e2e-badjson","body":` || r.Key == nil || *r.Key != "e2e-badjson" {
		t.Errorf("dead letter lost the original key or bytes: %+v", r)
	}
	if _, ok := classes["empty"]; !ok {
		t.Errorf("no empty dead letter: %v", classes)
	}
	if len(alerts) != 1 || alerts[0].Key == nil || *alerts[0].Key != "e2e-en" {
		t.Errorf("want one ceasefire alert for e2e-en, got %+v", alerts)
	} else if rule, _ := alerts[0].header("wiretag-rule"); rule != "ceasefire" {
		t.Errorf("alert rule header %q", rule)
	}

	// Operations: metrics and readiness over HTTP, then a graceful stop.
	body := httpGet(t, "http://"+httpAddr+"/metrics")
	for _, m := range []string{"wiretag_consumed_total", "wiretag_dead_letters_total", "wiretag_alerts_total"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("wiretag run exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("wiretag run did not stop within 20s of SIGTERM")
	}
}

// waitRecords reads topic with kcat until it holds at least n records.
func waitRecords(t *testing.T, kcat, broker, topic string, n int) []kcatRecord {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var recs []kcatRecord
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		out, err := exec.CommandContext(ctx, kcat, "-C", "-b", broker, "-t", topic, "-J", "-e", "-o", "beginning", "-q").Output()
		cancel()
		if err == nil {
			recs = parseKcat(t, out)
			if len(recs) >= n {
				return recs
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("topic %s: %d records after 45s, want %d", topic, len(recs), n)
	return nil
}

func parseKcat(t *testing.T, out []byte) []kcatRecord {
	var recs []kcatRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r kcatRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("kcat -J line: %v: %s", err, sc.Text())
		}
		// kcat prints headers as a flat ["k","v",...] array.
		json.Unmarshal(r.RawHdrs, &r.Headers)
		recs = append(recs, r)
	}
	return recs
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
