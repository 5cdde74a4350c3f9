package reload

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/wiretag/wiretag/processor/metrics"
)

const good1 = "rules:\n  - name: one\n    topic: a.one\n    topics: {any: [ceasefire]}\n"
const good2 = "rules:\n  - name: two\n    topic: a.two\n    topics: {any: [territory]}\n"
const bad = "rules:\n  - name: broken\n    topic: a.x\n    topics: {any: [no_such_topic]}\n"

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	// mtime resolution: make sure the change is visible to the poller.
	future := time.Now().Add(time.Duration(len(s)) * time.Millisecond)
	_ = os.Chtimes(p, future, future)
}

func TestReloadKeepsOldOnBadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rules.yaml")
	write(t, p, good1)
	m := metrics.New("test")
	var logs strings.Builder
	l, err := New(context.Background(), Options{RulesFile: p, Metrics: m, Log: zerolog.New(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	first := l.Snapshot()
	if first.Rules.Rules[0].Name != "one" {
		t.Fatal("initial rules")
	}

	write(t, p, bad)
	l.Reload(context.Background(), false)
	if l.Snapshot() != first {
		t.Fatal("a bad file replaced the rules in force")
	}
	if !strings.Contains(logs.String(), `unknown topic id \"no_such_topic\"`) || !strings.Contains(logs.String(), "rule \\\"broken\\\"") {
		t.Fatalf("rejection not logged with its errors: %s", logs.String())
	}
	if got := value(m.Reloads.WithLabelValues("rules", "error")); got != 1 {
		t.Fatalf("reload errors %v", got)
	}
	// Polling again without a change does not re-report.
	l.Reload(context.Background(), false)
	if got := value(m.Reloads.WithLabelValues("rules", "error")); got != 1 {
		t.Fatalf("unchanged bad file re-reported: %v", got)
	}

	write(t, p, good2)
	l.Reload(context.Background(), false)
	if s := l.Snapshot(); s.Rules.Rules[0].Name != "two" || s.Tagger != first.Tagger {
		t.Fatal("good file not applied, or the tagger was needlessly rebuilt")
	}
	if got := value(m.Reloads.WithLabelValues("rules", "ok")); got != 1 {
		t.Fatalf("reload ok %v", got)
	}
}

func TestWatchReloadsOnSignalAndChange(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rules.yaml")
	write(t, p, good1)
	l, err := New(context.Background(), Options{RulesFile: p, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	go l.Watch(ctx, 20*time.Millisecond, hup)

	write(t, p, good2)
	waitRule(t, l, "two")
	before := l.Snapshot()
	hup <- os.Interrupt // any value: SIGHUP in production
	deadline := time.Now().Add(5 * time.Second)
	for l.Snapshot() == before {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitRule(t *testing.T, l *Loader, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for l.Snapshot().Rules.Rules[0].Name != name {
		if time.Now().After(deadline) {
			t.Fatalf("rules never became %q", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBadStartupRulesFail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rules.yaml")
	write(t, p, bad)
	_, err := New(context.Background(), Options{RulesFile: p, Log: zerolog.Nop()})
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("want error naming file and rule, got %v", err)
	}
}

func TestCheckTopicsVetsRules(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rules.yaml")
	write(t, p, good1)
	_, err := New(context.Background(), Options{RulesFile: p, Log: zerolog.Nop(),
		CheckTopics: func(_ context.Context, ts []string) error {
			return &missing{ts}
		}})
	if err == nil || !strings.Contains(err.Error(), "a.one") {
		t.Fatalf("missing alert topic not reported: %v", err)
	}
}

type missing struct{ ts []string }

func (m *missing) Error() string { return "missing topics: " + strings.Join(m.ts, ",") }

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// Kubernetes updates a mounted ConfigMap by swapping the ..data symlink;
// the file's own symlink does not change. The poll must still see it.
func TestFingerprintFollowsConfigMapSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	write := func(sub, content string) {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		if err := os.WriteFile(filepath.Join(dir, sub, "rules.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("..2025_01", "rules: []\n")
	if err := os.Symlink("..2025_01", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "rules.yaml")
	if err := os.Symlink("..data/rules.yaml", link); err != nil {
		t.Fatal(err)
	}
	before, err := fingerprint(link)
	if err != nil {
		t.Fatal(err)
	}
	write("..2025_02", "rules:\n  - name: new\n")
	tmp := filepath.Join(dir, "..data_tmp")
	os.Symlink("..2025_02", tmp)
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	after, err := fingerprint(link)
	if err != nil {
		t.Fatal(err)
	}
	if before == after {
		t.Error("a ConfigMap-style symlink swap left the rules file's fingerprint unchanged")
	}
}
