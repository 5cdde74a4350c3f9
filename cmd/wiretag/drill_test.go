package main

// Failure drills against a real broker (issue 4, item 5). Each runs
// `wiretag run` as real OS processes of this test binary (see TestMain), so
// kill -9 is a real SIGKILL, and checks the delivery promise by reading the
// output topics back: every input id must be in the enriched or the
// dead-letter topic. Duplicates are counted, not forbidden (at-least-once).
//
// They take minutes, so they run only with WIRETAG_DRILLS=1 and a real broker:
//
//	deploy/local-kafka/kafka.sh start plain
//	WIRETAG_DRILLS=1 WIRETAG_TEST_BROKERS=127.0.0.1:19092 go test -v -count=1 -timeout 30m -run 'TestDrill' ./cmd/wiretag
//
// Each prints one line of figures, e.g.
//
//	DRILL kill9: stories=20000 lost=0 duplicates=137 dead_letters=0 seconds=41.2 ...

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/kafkaio"
	"github.com/wiretag/wiretag/processor/kafkatest"
	"github.com/wiretag/wiretag/processor/stream"
)

// EnvDrills enables the failure drills.
const EnvDrills = "WIRETAG_DRILLS"

const drillStories = 20000

// ---- wiretag as an OS process ------------------------------------------------

// envWatchParent makes a child started by startWiretag exit when the test
// process that started it is gone (e.g. killed by go test's -timeout before
// its cleanups ran), so no processor is left behind.
const envWatchParent = "WIRETAG_TEST_WATCH_PARENT"

func init() {
	if os.Getenv(execEnv) != "1" || os.Getenv(envWatchParent) == "" {
		return
	}
	parent := strconv.Itoa(os.Getppid())
	if parent != os.Getenv(envWatchParent) {
		os.Exit(3) // the parent died before we got here
	}
	go func() {
		for range time.Tick(500 * time.Millisecond) {
			if strconv.Itoa(os.Getppid()) != parent {
				fmt.Fprintln(os.Stderr, "wiretag (test child): parent test process gone; exiting")
				os.Exit(3)
			}
		}
	}()
}

// wproc is one `wiretag run` (or other subcommand) child process.
type wproc struct {
	name     string
	cmd      *exec.Cmd
	logPath  string
	httpAddr string
	started  time.Time
	done     chan struct{} // closed when the process has exited and been reaped
	mu       sync.Mutex
	exitErr  error
	exitedAt time.Time
	killed   bool // by us, with SIGKILL
}

// childEnv is the test's environment without WIRETAG_* settings (so a
// developer's own WIRETAG_BROKERS etc. cannot leak into a child), plus vars.
func childEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "WIRETAG_") && !strings.HasPrefix(kv, "WIRETAG_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, execEnv+"=1", envWatchParent+"="+strconv.Itoa(os.Getpid()))
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	return env
}

// startWiretag starts this test binary as `wiretag args...` with vars as its
// environment; stdout and stderr go to a log file. The process is killed at
// cleanup if it is still running.
func startWiretag(t testing.TB, name string, vars map[string]string, args ...string) *wproc {
	t.Helper()
	p := &wproc{name: name, done: make(chan struct{}), httpAddr: vars["WIRETAG_HTTP_ADDR"]}
	p.logPath = filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = childEnv(vars)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	p.started = time.Now()
	go func() {
		err := p.cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.exitErr, p.exitedAt = err, time.Now()
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- %s log (tail) ---\n%s", p.name, p.logTail(60))
		}
	})
	return p
}

func (p *wproc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill9 sends SIGKILL and waits until the process is gone.
func (p *wproc) kill9(t testing.TB) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s: already exited before kill -9: %v\n%s", p.name, p.exitErr, p.logTail(30))
	}
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop sends SIGTERM and expects a clean exit (status 0) within timeout.
func (p *wproc) stop(t testing.TB, timeout time.Duration) {
	t.Helper()
	if p.exited() {
		t.Errorf("%s: exited by itself before SIGTERM: %v", p.name, p.exitErr)
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.exitErr != nil {
			t.Errorf("%s: exited with %v after SIGTERM", p.name, p.exitErr)
		}
	case <-time.After(timeout):
		t.Errorf("%s: still running %s after SIGTERM; killing it", p.name, timeout)
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitExit waits up to timeout for the process to exit by itself and
// returns how long it ran; its error is then p.exitErr.
func (p *wproc) waitExit(timeout time.Duration) (time.Duration, bool) {
	select {
	case <-p.done:
		return p.exitedAt.Sub(p.started), true
	case <-time.After(timeout):
		return timeout, false
	}
}

func (p *wproc) logs() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *wproc) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.logs(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// alive fails the test if the process has exited (a crash).
func (p *wproc) alive(t testing.TB) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s: exited unexpectedly (%v):\n%s", p.name, p.exitErr, p.logTail(40))
	}
}

// metric sums the samples of a Prometheus metric on /metrics (-1 when the
// endpoint does not answer).
func (p *wproc) metric(name string) float64 {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + p.httpAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if !strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, "{") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// ---- drill set-up -------------------------------------------------------------

type drill struct {
	t        *testing.T
	name     string
	env      *kafkatest.Env
	cfg      config.Config
	alert    string
	rules    string
	inputs   map[string]string // id -> expected dead-letter class ("" for a good story)
	order    []string
	ends     map[int]int64 // input partition -> end offset after produce
	procs    []*wproc
	started  time.Time
	produced time.Duration
}

func newDrill(t *testing.T, name string, partitions int) *drill {
	t.Helper()
	if os.Getenv(EnvDrills) == "" {
		t.Skipf("failure drill (minutes); set %s=1 and %s to a real broker to run it", EnvDrills, kafkatest.EnvBrokers)
	}
	if os.Getenv(kafkatest.EnvBrokers) == "" {
		t.Skipf("failure drills need a real broker: set %s (deploy/local-kafka/kafka.sh start plain)", kafkatest.EnvBrokers)
	}
	d := &drill{t: t, name: name, inputs: map[string]string{}}
	d.env = kafkatest.New(t)
	d.cfg = d.env.Config(t, partitions)
	d.alert = d.env.Name("alerts-ceasefire")
	d.env.CreateTopics(t, 1, d.alert)
	d.rules = filepath.Join(t.TempDir(), "rules.yaml")
	rules := fmt.Sprintf("rules:\n  - name: ceasefire\n    topic: %s\n    topics:\n      any: [ceasefire]\n", d.alert)
	if err := os.WriteFile(d.rules, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// vars is the processor's environment for this drill.
func (d *drill) vars(extra ...string) map[string]string {
	v := map[string]string{
		"WIRETAG_BROKERS":            strings.Join(d.cfg.Brokers, ","),
		"WIRETAG_INPUT_TOPIC":        d.cfg.InputTopic,
		"WIRETAG_ENRICHED_TOPIC":     d.cfg.EnrichedTopic,
		"WIRETAG_DEAD_LETTER_TOPIC":  d.cfg.DeadLetterTopic,
		"WIRETAG_GROUP_ID":           d.cfg.GroupID,
		"WIRETAG_RULES_FILE":         d.rules,
		"WIRETAG_HTTP_ADDR":          freePort(d.t),
		"WIRETAG_LOG_LEVEL":          "info",
		"WIRETAG_WORKERS":            "2",
		"WIRETAG_SHUTDOWN_TIMEOUT":   "15s",
		"WIRETAG_SESSION_TIMEOUT":    "10s",
		"WIRETAG_HEARTBEAT_INTERVAL": "1s",
		"WIRETAG_REBALANCE_TIMEOUT":  "10s",
		"WIRETAG_RETRY_MAX_BACKOFF":  "2s",
		"WIRETAG_RELOAD_INTERVAL":    "0s",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	return v
}

func (d *drill) start(name string, extra ...string) *wproc {
	p := startWiretag(d.t, name, d.vars(extra...), "run")
	d.procs = append(d.procs, p)
	return p
}

// waitGroup waits until the consumer group is stable with n members that
// each own input partitions, so the drill's inputs meet a settled group.
func (d *drill) waitGroup(n int) {
	d.t.Helper()
	kafkatest.Eventually(d.t, 2*time.Minute, fmt.Sprintf("group %s stable with %d members", d.cfg.GroupID, n), func() bool {
		for _, p := range d.procs {
			if !p.killed {
				p.alive(d.t)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := d.env.Client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{d.cfg.GroupID}})
		if err != nil || len(resp.Groups) != 1 {
			return false
		}
		g := resp.Groups[0]
		if g.Error != nil || g.GroupState != "Stable" || len(g.Members) != n {
			return false
		}
		for _, m := range g.Members {
			owned := 0
			for _, tp := range m.MemberAssignments.Topics {
				owned += len(tp.Partitions)
			}
			if owned == 0 {
				return false
			}
		}
		return true
	})
}

// storyJSONs are the embedded sample stories, varied by id and a numbered
// sentence so no two inputs are the same bytes.
func storyJSONs(t testing.TB) []map[string]any {
	t.Helper()
	ss, err := config.Samples()
	if err != nil || len(ss) == 0 {
		t.Fatalf("samples: %v (%d)", err, len(ss))
	}
	var out []map[string]any
	for _, s := range ss {
		var m map[string]any
		if err := json.Unmarshal(s.JSON, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// poisonKinds are the bad inputs of the poison drill, with the dead-letter
// class each must carry. The oversize one needs WIRETAG_MAX_MESSAGE_BYTES=65536.
var poisonKinds = []struct {
	class string
	value func(id string) []byte
}{
	{"empty", func(string) []byte { return nil }},
	{"empty", func(string) []byte { return []byte(" \n\t ") }},
	{"invalid_utf8", func(id string) []byte { return []byte(`{"id":"` + id + "\",\"body\":\"bad \xff\xfe bytes\"}") }},
	{"invalid_json", func(id string) []byte { return []byte(`{"id":"` + id + `","body":`) }},
	{"missing_body", func(id string) []byte { return []byte(`{"id":"` + id + `","headline":"headline only"}`) }},
	{"not_a_story", func(string) []byte { return []byte(`[1,2,3]`) }},
	{"not_a_story", func(string) []byte { return []byte(`"just a JSON string"`) }},
	{"oversize", func(id string) []byte {
		return []byte(`{"id":"` + id + `","body":"` + strings.Repeat("wire story text ", 4500) + `"}`)
	}},
}

// produce writes n inputs (every poisonEvery-th one poison when > 0) keyed by
// id, in chunks, and remembers what each must become.
func (d *drill) produce(n, poisonEvery int) {
	t := d.t
	t.Helper()
	samples := storyJSONs(t)
	msgs := make([]kafka.Message, 0, n)
	poisons := 0
	for i := range n {
		id := fmt.Sprintf("%s-%05d", d.name, i)
		var val []byte
		class := ""
		if poisonEvery > 0 && i%poisonEvery == poisonEvery/2 {
			k := poisonKinds[poisons%len(poisonKinds)]
			poisons++
			val, class = k.value(id), k.class
		} else {
			m := map[string]any{}
			for k, v := range samples[i%len(samples)] {
				m[k] = v
			}
			m["id"] = id
			body, _ := m["body"].(string)
			m["body"] = body + fmt.Sprintf(" (Drill copy %d.)", i)
			val, _ = json.Marshal(m)
		}
		d.inputs[id] = class
		d.order = append(d.order, id)
		msgs = append(msgs, kafka.Message{Key: []byte(id), Value: val,
			Headers: []kafka.Header{{Key: "traceparent", Value: fmt.Appendf(nil, "00-%032x-%016x-01", i+1, i+1)}}})
	}
	t0 := time.Now()
	d.started = t0
	// Request batches under the broker's default message.max.bytes (1 MB):
	// the sample stories are several KB each.
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(d.cfg.Brokers...), Topic: d.cfg.InputTopic, Balancer: &kafka.Hash{}, Transport: tr,
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchSize: 200, BatchBytes: 900 << 10}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := 0; i < len(msgs); i += 2000 {
		if err := writeAll(ctx, w, msgs[i:min(i+2000, len(msgs))]); err != nil {
			w.Close()
			t.Fatalf("produce: %.500v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d.produced = time.Since(t0)
	d.ends = map[int]int64{}
	for _, m := range d.env.ReadAll(t, d.cfg.InputTopic) {
		d.ends[m.Partition] = max(d.ends[m.Partition], m.Offset+1)
	}
	t.Logf("%s: produced %d inputs (%d poison) in %s", d.name, n, poisons, d.produced.Round(time.Millisecond))
}

// consumed is the sum of wiretag_consumed_total over the running processes.
func (d *drill) consumed() float64 {
	sum := 0.0
	for _, p := range d.procs {
		if !p.exited() {
			sum += max(p.metric("wiretag_consumed_total"), 0)
		}
	}
	return sum
}

// waitConsumed polls until the live processes have fetched at least n inputs.
func (d *drill) waitConsumed(n float64, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for d.consumed() < n {
		for _, p := range d.procs {
			if !p.killed && p.exited() {
				d.t.Fatalf("%s exited: %v\n%s", p.name, p.exitErr, p.logTail(40))
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("only %.0f of %.0f inputs consumed after %s", d.consumed(), n, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// committed returns the group's committed offsets (errors are the caller's
// to retry: the broker may be away).
func (d *drill) committed(parts []int) (map[int]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return kafkaio.CommittedOffsets(ctx, d.env.Client, d.cfg.GroupID, d.cfg.InputTopic, parts)
}

// waitDone polls the group's committed offsets until they reach the end of
// every input partition (outputs are written before their input is
// committed, so then every input has its outputs). It tolerates errors while
// the broker is away, and fails if a process that should live exits.
func (d *drill) waitDone(timeout time.Duration) time.Duration {
	t := d.t
	t.Helper()
	ends := d.ends
	var parts []int
	for p := range ends {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	deadline := time.Now().Add(timeout)
	var last map[int]int64
	for {
		for _, p := range d.procs {
			if !p.killed && p.exited() {
				t.Fatalf("%s exited by itself (a crash): %v\n%s", p.name, p.exitErr, p.logTail(40))
			}
		}
		got, err := d.committed(parts)
		if err == nil {
			last = got
			done := true
			for p, end := range ends {
				if got[p] < end {
					done = false
				}
			}
			if done {
				return time.Since(d.started)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed offsets %v did not reach the ends %v within %s (last error %v)", last, ends, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tally reads the enriched and dead-letter topics back and checks that every
// input id is in one of them.
type tally struct {
	lost, duplicates, dead, enriched, alerts int
	lostIDs                                  []string
	deadByID                                 map[string][]kafka.Message
}

func (d *drill) tally() tally {
	t := d.t
	t.Helper()
	r := tally{deadByID: map[string][]kafka.Message{}}
	seen := map[string]int{}
	for _, m := range d.env.ReadAll(t, d.cfg.EnrichedTopic) {
		r.enriched++
		seen[string(m.Key)]++
		if _, ok := d.inputs[string(m.Key)]; !ok {
			t.Errorf("enriched record with unknown key %q", m.Key)
		}
	}
	for _, m := range d.env.ReadAll(t, d.cfg.DeadLetterTopic) {
		r.dead++
		seen[string(m.Key)]++
		r.deadByID[string(m.Key)] = append(r.deadByID[string(m.Key)], m)
	}
	r.alerts = len(d.env.ReadAll(t, d.alert))
	for _, id := range d.order {
		switch n := seen[id]; {
		case n == 0:
			r.lost++
			if len(r.lostIDs) < 10 {
				r.lostIDs = append(r.lostIDs, id)
			}
		case n > 1:
			r.duplicates += n - 1
		}
	}
	return r
}

// report prints the drill's figures line and fails on loss.
func (d *drill) report(r tally, took time.Duration, extra string) {
	line := fmt.Sprintf("DRILL %s: stories=%d lost=%d duplicates=%d dead_letters=%d seconds=%.1f%s",
		d.name, len(d.order), r.lost, r.duplicates, r.dead, took.Seconds(), extra)
	fmt.Println(line)
	d.t.Log(line)
	if r.lost > 0 {
		d.t.Errorf("%d inputs lost (in neither the enriched nor the dead-letter topic), e.g. %v", r.lost, r.lostIDs)
	}
}

// ---- the drills ---------------------------------------------------------------

// kill -9 the processor in the middle of 20,000 stories, start it again: no
// story lost; the ones it had processed but not committed come out twice.
func TestDrillKill9(t *testing.T) {
	d := newDrill(t, "kill9", 3)
	p1 := d.start("wiretag-1")
	d.waitGroup(1)
	d.produce(drillStories, 0)
	d.waitConsumed(drillStories*0.4, 5*time.Minute)
	d.waitCommittedSome()
	atKill := d.consumed()
	p1.kill9(t)
	killedAt := time.Since(d.started)
	committedAtKill := d.committedSum()
	d.midStream(committedAtKill)
	p2 := d.start("wiretag-2")
	took := d.waitDone(10 * time.Minute)
	p2.stop(t, 30*time.Second)
	r := d.tally()
	d.report(r, took, fmt.Sprintf(" killed_at=%.1fs fetched_before_kill=%.0f committed_at_kill=%d", killedAt.Seconds(), atKill, committedAtKill))
	if r.dead != 0 {
		t.Errorf("%d dead letters from good stories", r.dead)
	}
}

// committedSum is the number of inputs the group has committed.
func (d *drill) committedSum() int64 {
	d.t.Helper()
	var sum int64
	for _, o := range d.env.Committed(d.t, d.cfg.GroupID, d.cfg.InputTopic) {
		sum += max(o, 0)
	}
	return sum
}

// midStream fails the drill if the fault came after the group had already
// committed every input: then it tested nothing.
func (d *drill) midStream(committed int64) {
	d.t.Helper()
	if committed >= int64(len(d.order)) {
		d.t.Fatalf("the fault came after all %d inputs were committed: not mid-stream", committed)
	}
}

// waitReady waits until p reports ready (group joined, fetching and
// writing work) on its /metrics.
func (d *drill) waitReady(p *wproc) {
	d.t.Helper()
	kafkatest.Eventually(d.t, 60*time.Second, p.name+" ready", func() bool {
		p.alive(d.t)
		return p.metric("wiretag_ready") == 1
	})
}

// waitCommittedSome waits until the group has committed something, so a kill
// falls between commits rather than before the first.
func (d *drill) waitCommittedSome() {
	d.t.Helper()
	parts := d.env.Partitions(d.t, d.cfg.InputTopic)
	kafkatest.Eventually(d.t, time.Minute, "a first commit", func() bool {
		got, err := d.committed(parts)
		if err != nil {
			return false
		}
		for _, o := range got {
			if o > 0 {
				return true
			}
		}
		return false
	})
}

// Stop the broker for ~10 s mid-stream (storage kept) and start it again:
// the same processor process recovers by itself; no story lost.
func TestDrillBrokerOutage(t *testing.T) {
	d := newDrill(t, "broker-outage", 3)
	script := kafkaScript(t, d.cfg.Brokers)
	p := d.start("wiretag")
	d.waitGroup(1)
	d.produce(drillStories, 0)
	d.waitConsumed(drillStories*0.3, 5*time.Minute)
	d.waitCommittedSome()
	before := d.consumed()
	d.midStream(d.committedSum())
	t0 := time.Now()
	if out, err := exec.Command(script, "stop", "--keep").CombinedOutput(); err != nil {
		t.Fatalf("kafka.sh stop --keep: %v\n%s", err, out)
	}
	stopped := time.Now()
	resumed := false
	t.Cleanup(func() {
		if !resumed { // leave the broker up for the other tests
			exec.Command(script, "resume").Run()
		}
	})
	// The outage itself: 10 s with no broker, the processor must stay up.
	for time.Since(stopped) < 10*time.Second {
		p.alive(t)
		time.Sleep(250 * time.Millisecond)
	}
	if out, err := exec.Command(script, "resume").CombinedOutput(); err != nil {
		t.Fatalf("kafka.sh resume: %v\n%s", err, out)
	}
	resumed = true
	outage := time.Since(t0)
	down := time.Since(stopped)
	took := d.waitDone(10 * time.Minute)
	recovered := time.Since(t0) - outage
	d.waitReady(p)
	retries := p.metric("wiretag_produce_retries_total")
	p.stop(t, 30*time.Second)
	r := d.tally()
	d.report(r, took, fmt.Sprintf(" fetched_before_outage=%.0f broker_down=%.1fs finished_after_resume=%.1fs produce_retries=%.0f processor_restarts=0",
		before, down.Seconds(), recovered.Seconds(), retries))
	if r.dead != 0 {
		t.Errorf("%d dead letters from good stories", r.dead)
	}
}

// kafkaScript returns deploy/local-kafka/kafka.sh if it manages the broker
// the tests use, and skips the test otherwise (it must stop and start it).
func kafkaScript(t *testing.T, brokers []string) string {
	t.Helper()
	script, err := filepath.Abs("../../deploy/local-kafka/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, "status").CombinedOutput()
	if err != nil {
		t.Skipf("the broker outage drill stops and restarts the broker with %s, which does not run one here (%v): %s", script, err, out)
	}
	if !bytes.Contains(out, []byte("PLAINTEXT  "+brokers[0])) {
		t.Skipf("%s runs a broker, but not the one at %s the tests use:\n%s", script, brokers[0], out)
	}
	return script
}

// Three processors in one group over 6 partitions; kill -9 one mid-stream:
// the group rebalances and the other two finish; no story lost.
func TestDrillRebalanceKill(t *testing.T) {
	d := newDrill(t, "rebalance", 6)
	procs := []*wproc{d.start("wiretag-1"), d.start("wiretag-2"), d.start("wiretag-3")}
	d.waitGroup(3)
	d.produce(drillStories, 0)
	// all three own partitions and work before one dies
	kafkatest.Eventually(t, 5*time.Minute, "all three processors consuming", func() bool {
		for _, p := range procs {
			p.alive(t)
			if p.metric("wiretag_consumed_total") <= 0 {
				return false
			}
		}
		return true
	})
	d.waitConsumed(drillStories*0.3, 5*time.Minute)
	d.waitCommittedSome()
	victim := procs[0]
	victimConsumed := victim.metric("wiretag_consumed_total")
	victim.kill9(t)
	killedAt := time.Since(d.started)
	d.midStream(d.committedSum())
	tKill := time.Now()
	d.waitGroup(2) // the two survivors own all six partitions
	rebalanced := time.Since(tKill)
	took := d.waitDone(10 * time.Minute)
	per := []string{}
	for _, p := range procs[1:] {
		per = append(per, fmt.Sprintf("%.0f", p.metric("wiretag_consumed_total")))
		p.alive(t)
	}
	for _, p := range procs[1:] {
		p.stop(t, 30*time.Second)
	}
	r := d.tally()
	d.report(r, took, fmt.Sprintf(" processors=3 partitions=6 killed_at=%.1fs rebalanced_after=%.1fs victim_fetched=%.0f survivors_fetched=%s",
		killedAt.Seconds(), rebalanced.Seconds(), victimConsumed, strings.Join(per, "+")))
	if r.dead != 0 {
		t.Errorf("%d dead letters from good stories", r.dead)
	}
}

// 1% poison messages mixed into 20,000 at load: every one is in the
// dead-letter topic with its reason (the error class it must have and a
// message), no good story is, and no processor crashes.
func TestDrillPoison(t *testing.T) {
	d := newDrill(t, "poison", 6)
	procs := []*wproc{
		d.start("wiretag-1", "WIRETAG_MAX_MESSAGE_BYTES", "65536"),
		d.start("wiretag-2", "WIRETAG_MAX_MESSAGE_BYTES", "65536"),
	}
	d.waitGroup(2)
	d.produce(drillStories, 100)
	took := d.waitDone(10 * time.Minute)
	dlqMetric := 0.0
	for _, p := range procs {
		p.alive(t)
		dlqMetric += p.metric("wiretag_dead_letters_total")
	}
	for _, p := range procs {
		p.stop(t, 30*time.Second)
		if strings.Contains(p.logs(), "panic") {
			t.Errorf("%s logged a panic:\n%s", p.name, p.logTail(40))
		}
	}
	r := d.tally()
	poison, wrong := 0, 0
	classes := map[string]int{}
	for id, want := range d.inputs {
		dls := r.deadByID[id]
		if want == "" {
			if len(dls) > 0 {
				t.Errorf("good story %s dead-lettered: %s", id, headerOf(dls[0], stream.HeaderErrorClass))
			}
			continue
		}
		poison++
		if len(dls) == 0 {
			t.Errorf("poison %s (%s) not in the dead-letter topic", id, want)
			continue
		}
		for _, m := range dls {
			class, msg := headerOf(m, stream.HeaderErrorClass), headerOf(m, stream.HeaderErrorMessage)
			if class != want || msg == "" {
				wrong++
				if wrong <= 5 {
					t.Errorf("poison %s: dead letter class %q message %q, want class %q and a message", id, class, msg, want)
				}
			}
			classes[class]++
		}
	}
	var cs []string
	for c, n := range classes {
		cs = append(cs, fmt.Sprintf("%s:%d", c, n))
	}
	sort.Strings(cs)
	d.report(r, took, fmt.Sprintf(" poison=%d processors=2 crashes=0 dead_letters_metric=%.0f classes=%s",
		poison, dlqMetric, strings.Join(cs, ",")))
	if poison != drillStories/100 {
		t.Errorf("%d poison inputs, want %d", poison, drillStories/100)
	}
}

// writeAll writes msgs, retrying only the ones that failed (a just-created
// topic can answer "leader not available" for a moment) until ctx ends, so
// no input is written twice.
func writeAll(ctx context.Context, w *kafka.Writer, msgs []kafka.Message) error {
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			return nil
		}
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(msgs) {
			var failed []kafka.Message
			for i, e := range werrs {
				if e != nil {
					failed = append(failed, msgs[i])
				}
			}
			msgs = failed
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func headerOf(m kafka.Message, k string) string {
	v, _ := stream.Header(m.Headers, k)
	return v
}

// The broker throttles wiretag's writes to a trickle for 20 s while 20,000
// stories wait on the input: a producer_byte_rate quota of 1 KB/s on the
// client id "wiretag" makes it hold produce responses back (KIP-219), while
// fetching is not throttled. The processor must hold its place rather than
// buffer: fetching stops once the pipeline is full, memory stays flat (peak
// RSS under the 150 MB budget); when the quota is lifted every story arrives.
// This is "the broker stalls" of the performance issue, on the side that can
// stall alone on a single broker.
func TestDrillOutputStall(t *testing.T) {
	d := newDrill(t, "output-stall", 3)
	setProduceQuota(t, d.cfg.Brokers, "wiretag", 1024)
	lifted := false
	t.Cleanup(func() { // never leave the quota behind for the other drills
		if !lifted {
			setProduceQuota(t, d.cfg.Brokers, "wiretag", 0)
		}
	})
	p := d.start("wiretag")
	d.waitGroup(1)
	d.produce(drillStories, 0)

	const stall = 20 * time.Second
	var (
		maxRSS, maxInFlight float64
		consumedAt          []float64 // every second
	)
	t0 := time.Now()
	for time.Since(t0) < stall {
		p.alive(t)
		maxRSS = max(maxRSS, rssMB(p))
		maxInFlight = max(maxInFlight, p.metric("wiretag_in_flight"))
		if len(consumedAt) < int(time.Since(t0)/time.Second) {
			consumedAt = append(consumedAt, d.consumed())
		}
		time.Sleep(100 * time.Millisecond)
	}
	committedDuring := d.committedSum()
	fetched := d.consumed()
	// The last ten seconds of the stall: fetching has (nearly) stopped; a
	// throttled write that completes lets one batch more in.
	lastTen := consumedAt[len(consumedAt)-1] - consumedAt[len(consumedAt)-11]
	setProduceQuota(t, d.cfg.Brokers, "wiretag", 0)
	lifted = true
	took := d.waitDone(10 * time.Minute)
	retries := p.metric("wiretag_produce_retries_total")
	peak := vmHWM(p)
	p.stop(t, 30*time.Second)
	r := d.tally()
	d.report(r, took, fmt.Sprintf(" stall=%.0fs fetched_during_stall=%.0f fetched_in_last_10s_of_stall=%.0f max_in_flight=%.0f committed_during_stall=%d max_rss_during_stall_mb=%.0f peak_rss_mb=%.0f produce_retries=%.0f",
		stall.Seconds(), fetched, lastTen, maxInFlight, committedDuring, maxRSS, peak, retries))
	if fetched >= drillStories {
		t.Errorf("fetched all %d inputs while writes were throttled to 1 KB/s: no backpressure", drillStories)
	}
	if batch := 500.0; lastTen > 2*batch { // WIRETAG_BATCH_SIZE's default
		t.Errorf("fetched %.0f more inputs in the last 10 s of the stall: buffering instead of backpressure", lastTen)
	}
	if maxRSS > 150 {
		t.Errorf("RSS reached %.0f MB during the stall, over the 150 MB budget", maxRSS)
	}
	if r.dead != 0 {
		t.Errorf("%d dead letters from good stories", r.dead)
	}
}

// setProduceQuota sets (bytesPerSec > 0) or removes (0) the producer byte
// rate quota of a client id.
func setProduceQuota(t *testing.T, brokers []string, clientID string, bytesPerSec float64) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.AlterClientQuotas(ctx, &kafka.AlterClientQuotasRequest{Entries: []kafka.AlterClientQuotaEntry{{
		Entities: []kafka.AlterClientQuotaEntity{{EntityType: "client-id", EntityName: clientID}},
		Ops:      []kafka.AlterClientQuotaOps{{Key: "producer_byte_rate", Value: bytesPerSec, Remove: bytesPerSec == 0}},
	}}})
	if err == nil && len(resp.Entries) == 1 && resp.Entries[0].Error != nil {
		err = resp.Entries[0].Error
	}
	if err != nil {
		t.Fatalf("producer_byte_rate=%v for client id %s: %v", bytesPerSec, clientID, err)
	}
}

// rssMB and vmHWM read a child's current and peak resident memory.
func rssMB(p *wproc) float64 { return procStatusMB(p, "VmRSS:") }
func vmHWM(p *wproc) float64 { return procStatusMB(p, "VmHWM:") }

func procStatusMB(p *wproc, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}
