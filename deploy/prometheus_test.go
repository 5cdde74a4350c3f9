package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	gfdashboard "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"go.yaml.in/yaml/v3"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/httpapi"
	"github.com/wiretag/wiretag/processor/metrics"
	"github.com/wiretag/wiretag/processor/reload"
	"github.com/wiretag/wiretag/processor/stream"
)

// exported is what a /metrics scrape showed: sample name -> label name ->
// values seen.
type exported map[string]map[string]map[string]bool

// parseExposition reads the Prometheus text format: sample names and their
// label names and values (comments skipped).
func parseExposition(r io.Reader) (exported, error) {
	out := exported{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end < 0 {
			return nil, fmt.Errorf("bad sample line %q", line)
		}
		name := line[:end]
		if out[name] == nil {
			out[name] = map[string]map[string]bool{}
		}
		if line[end] != '{' {
			continue
		}
		rest := line[end+1:]
		for !strings.HasPrefix(rest, "}") {
			eq := strings.Index(rest, `="`)
			if eq < 0 {
				return nil, fmt.Errorf("bad labels in %q", line)
			}
			label := strings.TrimLeft(rest[:eq], ",")
			rest = rest[eq+2:]
			var val strings.Builder
			for i := 0; ; i++ {
				if i >= len(rest) {
					return nil, fmt.Errorf("unterminated label value in %q", line)
				}
				if rest[i] == '\\' && i+1 < len(rest) {
					val.WriteByte(rest[i+1])
					i++
					continue
				}
				if rest[i] == '"' {
					rest = strings.TrimPrefix(rest[i+1:], ",")
					break
				}
				val.WriteByte(rest[i])
			}
			if out[name][label] == nil {
				out[name][label] = map[string]bool{}
			}
			out[name][label][val.String()] = true
		}
	}
	return out, sc.Err()
}

// memFetcher is an in-memory consumer: it hands out msgs, then waits.
type memFetcher struct {
	ch        chan kafka.Message
	mu        sync.Mutex
	committed int
}

func (f *memFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	select {
	case m := <-f.ch:
		return m, nil
	case <-ctx.Done():
		return kafka.Message{}, ctx.Err()
	}
}

func (f *memFetcher) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	f.mu.Lock()
	f.committed += len(msgs)
	f.mu.Unlock()
	return nil
}

// memProducer accepts every write; the first one fails once, so the retry
// path runs too.
type memProducer struct {
	mu     sync.Mutex
	failed bool
}

func (p *memProducer) WriteMessages(_ context.Context, _ ...kafka.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.failed {
		p.failed = true
		return kafka.LeaderNotAvailable
	}
	return nil
}

var (
	scrapeOnce sync.Once
	scraped    exported
	scrapeErr  error
)

// liveMetrics runs the real processor loop (stream.Processor with the
// embedded rules and dictionaries) over the sample stories plus a poison
// message, in memory, and scrapes /metrics from the real HTTP handler
// (httpapi.Handler over metrics.Metrics), the way Prometheus will.
func liveMetrics(t testing.TB) exported {
	t.Helper()
	scrapeOnce.Do(func() { scraped, scrapeErr = scrapeProcessor() })
	if scrapeErr != nil {
		t.Fatal(scrapeErr)
	}
	return scraped
}

func scrapeProcessor() (exported, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := metrics.New("deploy-test")
	loader, err := reload.New(ctx, reload.Options{Log: zerolog.Nop(), Metrics: m})
	if err != nil {
		return nil, err
	}
	samples, err := config.Samples()
	if err != nil {
		return nil, err
	}
	def := config.Default()
	f := &memFetcher{ch: make(chan kafka.Message, len(samples)+1)}
	now := time.Now()
	for i, s := range samples {
		f.ch <- kafka.Message{Topic: def.InputTopic, Partition: i % 3, Offset: int64(i / 3), HighWaterMark: int64(i/3) + 5,
			Key: []byte(s.ID), Value: s.JSON, Time: now.Add(-time.Second)}
	}
	f.ch <- kafka.Message{Topic: def.InputTopic, Partition: 0, Offset: 100, HighWaterMark: 101, Key: []byte("poison"),
		Value: []byte(`{"id": "poison", "body": "unterminated`), Time: now}
	total := len(samples) + 1

	var mu sync.Mutex
	seen := 0
	done := make(chan struct{})
	proc := stream.New(stream.Options{
		EnrichedTopic: def.EnrichedTopic, DeadLetterTopic: def.DeadLetterTopic,
		Workers: 2, BatchSize: 8, BatchWait: 10 * time.Millisecond,
		MaxMessageBytes: def.MaxMessageBytes, WriteBatchBytes: def.WriteBatchBytes,
		RetryAttempts: 3, RetryBackoff: time.Millisecond, RetryMaxBackoff: 5 * time.Millisecond,
		CommitTimeout: time.Second, DrainTimeout: 5 * time.Second,
		Version: "deploy-test", Log: zerolog.Nop(), Metrics: m, Snapshot: loader.Snapshot,
		Observe: func(stream.Outcome) {
			mu.Lock()
			seen++
			if seen == total {
				close(done)
			}
			mu.Unlock()
		},
	}, f, &memProducer{})
	runErr := make(chan error, 1)
	go func() { runErr <- proc.Run(ctx) }()

	srv := httptest.NewServer(httpapi.Handler(m.Handler(), proc.Live, proc.Ready))
	defer srv.Close()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		return nil, fmt.Errorf("the processor handled %d of %d messages in 30s", seen, total)
	}
	// Let the commit after the last batch land.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		f.mu.Lock()
		c := f.committed
		f.mu.Unlock()
		if c > 0 {
			break
		}
	}
	time.Sleep(50 * time.Millisecond)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			return nil, fmt.Errorf("processor: %w", err)
		}
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("the processor did not stop")
	}
	return parseExposition(bytes.NewReader(body))
}

// targetLabels are attached by Prometheus, not exported: job and instance
// always, namespace and pod by the usual Kubernetes pod discovery relabelling.
var targetLabels = []string{"job", "instance", "namespace", "pod"}

// externalMetric reports metrics that other exporters provide.
func externalMetric(name string) bool {
	return name == "up" || strings.HasPrefix(name, "kube_")
}

// exprChecker checks PromQL expressions against a scrape and the recording
// rules defined alongside them.
type exprChecker struct {
	exp      exported
	recorded map[string][]string // recorded metric -> its labels (nil: unknown)
	p        parser.Parser
}

func newExprChecker(exp exported) *exprChecker {
	return &exprChecker{exp: exp, recorded: map[string][]string{}, p: parser.NewParser(parser.Options{})}
}

// labelsOf returns the labels a selector's series carry, and whether they are known.
func (c *exprChecker) labelsOf(name string) ([]string, bool) {
	if ls, ok := c.recorded[name]; ok {
		return ls, ls != nil
	}
	if externalMetric(name) {
		return nil, false
	}
	var ls []string
	for l := range c.exp[name] {
		ls = append(ls, l)
	}
	return append(ls, targetLabels...), true
}

// outputLabels is the label set of a recording rule's result, where it can
// be told from the expression (an aggregation with by, or a binary
// operation of such).
func outputLabels(e parser.Expr) []string {
	switch n := e.(type) {
	case *parser.AggregateExpr:
		if !n.Without {
			return n.Grouping
		}
	case *parser.BinaryExpr:
		if l := outputLabels(n.LHS); l != nil {
			return l
		}
		return outputLabels(n.RHS)
	case *parser.ParenExpr:
		return outputLabels(n.Expr)
	}
	return nil
}

// check parses expr and returns every problem: a parse error, a metric the
// processor does not export (or no rule records), a label it does not carry,
// a label value it never has.
func (c *exprChecker) check(expr string) (parser.Expr, []string) {
	e, err := c.p.ParseExpr(expr)
	if err != nil {
		return nil, []string{err.Error()}
	}
	var problems []string
	seen := map[string]bool{}
	report := func(format string, a ...any) {
		if s := fmt.Sprintf(format, a...); !seen[s] {
			seen[s] = true
			problems = append(problems, s)
		}
	}
	selectors := func(n parser.Node) []*parser.VectorSelector {
		var out []*parser.VectorSelector
		parser.Inspect(n, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				out = append(out, vs)
			}
			return nil
		})
		return out
	}
	// checkLabels reports labels no selector under n carries.
	checkLabels := func(n parser.Node, what string, labels []string) {
		universe := map[string]bool{}
		for _, vs := range selectors(n) {
			ls, known := c.labelsOf(vs.Name)
			if !known {
				return // an external or opaque metric: cannot tell
			}
			for _, l := range ls {
				universe[l] = true
			}
		}
		for _, l := range labels {
			if !universe[l] {
				report("%s label %q is on no series of %q", what, l, n.String())
			}
		}
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			if n.Name == "" {
				report("selector %s has no metric name", n.String())
				return nil
			}
			_, rec := c.recorded[n.Name]
			switch {
			case rec, externalMetric(n.Name):
			case strings.Contains(n.Name, ":"):
				report("%s is no recording rule's metric", n.Name)
			case c.exp[n.Name] == nil:
				report("%s is not exported by the processor", n.Name)
			}
			ls, known := c.labelsOf(n.Name)
			for _, m := range n.LabelMatchers {
				if m.Name == model.MetricNameLabel || !known {
					continue
				}
				if !slices.Contains(ls, m.Name) {
					report("%s has no label %q", n.Name, m.Name)
					continue
				}
				if vals := c.exp[n.Name][m.Name]; m.Type.String() == "=" && len(vals) > 0 && !vals[m.Value] {
					report("%s{%s} never has the value %q (seen: %v)", n.Name, m.Name, m.Value, keys(vals))
				}
			}
		case *parser.AggregateExpr:
			checkLabels(n.Expr, "grouping", n.Grouping)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				checkLabels(n, "matching", n.VectorMatching.MatchingLabels)
			}
		}
		return nil
	})
	return e, problems
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The scrape shows every metric wiretag promises, with its labels.
func TestProcessorExportsTheMetricsTheDeploymentUses(t *testing.T) {
	exp := liveMetrics(t)
	for name, labels := range map[string][]string{
		"wiretag_consumed_total":                {"topic"},
		"wiretag_produced_total":                {"topic", "kind"},
		"wiretag_dead_letters_total":            {"reason"},
		"wiretag_alerts_total":                  {"rule"},
		"wiretag_topic_tags_total":              {"topic"},
		"wiretag_actor_tags_total":              {"kind"},
		"wiretag_processing_seconds_bucket":     {"le"},
		"wiretag_end_to_end_seconds_bucket":     {"le"},
		"wiretag_consumer_lag":                  {"topic", "partition"},
		"wiretag_in_flight":                     nil,
		"wiretag_produce_retries_total":         nil,
		"wiretag_produce_failures_total":        nil,
		"wiretag_commits_total":                 nil,
		"wiretag_commit_failures_total":         nil,
		"wiretag_ready":                         nil,
		"wiretag_last_commit_timestamp_seconds": nil,
		"wiretag_reloads_total":                 {"what", "result"},
		"wiretag_build_info":                    {"version"},
	} {
		got, ok := exp[name]
		if !ok {
			t.Errorf("%s not exported", name)
			continue
		}
		for _, l := range labels {
			if got[l] == nil {
				t.Errorf("%s has no label %s", name, l)
			}
		}
	}
	if !exp["wiretag_produced_total"]["kind"]["dead_letter"] || !exp["wiretag_produced_total"]["kind"]["alert"] {
		t.Errorf("the poison message or the samples produced no dead letter or alert: kinds %v", keys(exp["wiretag_produced_total"]["kind"]))
	}
}

func TestExprCheckerCatchesMistakes(t *testing.T) {
	c := newExprChecker(liveMetrics(t))
	for expr, want := range map[string]string{
		`rate(wiretag_consumed_totl[5m])`:                         "not exported",
		`sum by (reasons) (rate(wiretag_dead_letters_total[5m]))`: `grouping label "reasons"`,
		`wiretag_reloads_total{result="failed"}`:                  "never has the value",
		`wiretag_consumer_lag{partiton="0"}`:                      `no label "partiton"`,
		`wiretag:lag:sum > 0`:                                     "no recording rule",
		`sum(rate(wiretag_commits_total[5m])`:                     "unclosed",
		`wiretag_ready == 0 and on (pod_name) wiretag_in_flight`:  `matching label "pod_name"`,
	} {
		_, problems := c.check(expr)
		if !strings.Contains(strings.Join(problems, "\n"), want) {
			t.Errorf("%s: problems %q, want one about %q", expr, problems, want)
		}
	}
	if _, problems := c.check(`histogram_quantile(0.99, sum by (job, le) (rate(wiretag_end_to_end_seconds_bucket[5m])))`); len(problems) > 0 {
		t.Errorf("a correct expression was rejected: %v", problems)
	}
}

// ruleFile is the Prometheus rule file format (decoded strictly).
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Record        string            `yaml:"record"`
			Alert         string            `yaml:"alert"`
			Expr          string            `yaml:"expr"`
			For           string            `yaml:"for"`
			KeepFiringFor string            `yaml:"keep_firing_for"`
			Labels        map[string]string `yaml:"labels"`
			Annotations   map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, alertsFile)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	c := newExprChecker(liveMetrics(t))
	readme := string(readFile(t, readmeFile))
	alerts := map[string]bool{}
	groups := map[string]bool{}
	var exprs []string
	for _, g := range rf.Groups {
		if g.Name == "" || groups[g.Name] {
			t.Errorf("group name %q empty or duplicated", g.Name)
		}
		groups[g.Name] = true
		if g.Interval != "" {
			if _, err := model.ParseDuration(g.Interval); err != nil {
				t.Errorf("group %s interval: %v", g.Name, err)
			}
		}
		for _, r := range g.Rules {
			id := r.Alert + r.Record
			if (r.Alert == "") == (r.Record == "") {
				t.Errorf("group %s: a rule must have exactly one of alert and record: %+v", g.Name, r)
				continue
			}
			e, problems := c.check(r.Expr)
			for _, p := range problems {
				t.Errorf("%s: %s", id, p)
			}
			exprs = append(exprs, r.Expr)
			if r.Record != "" {
				if !model.LegacyValidation.IsValidMetricName(r.Record) {
					t.Errorf("record name %q is invalid", r.Record)
				}
				if e != nil {
					c.recorded[r.Record] = outputLabels(e)
				}
				continue
			}
			if alerts[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			alerts[r.Alert] = true
			for _, d := range []string{r.For, r.KeepFiringFor} {
				if d == "" {
					continue
				}
				if _, err := model.ParseDuration(d); err != nil {
					t.Errorf("%s: duration %q: %v", r.Alert, d, err)
				}
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: annotation %s missing", r.Alert, a)
				}
			}
			anchor := "deploy/README.md#" + strings.ToLower(r.Alert)
			if r.Annotations["runbook"] != anchor {
				t.Errorf("%s: runbook %q, want %q", r.Alert, r.Annotations["runbook"], anchor)
			}
			if !regexp.MustCompile(`(?m)^#+ ` + regexp.QuoteMeta(r.Alert) + `\s*$`).MatchString(readme) {
				t.Errorf("%s: deploy/README.md has no runbook heading for it", r.Alert)
			}
			// Label references in templates name labels the expression keeps.
			for _, m := range regexp.MustCompile(`\$labels\.([a-zA-Z_]+)`).FindAllStringSubmatch(r.Annotations["summary"]+r.Annotations["description"], -1) {
				if e != nil && !labelKept(c, e, m[1]) {
					t.Errorf("%s: the annotations use $labels.%s, which the expression drops", r.Alert, m[1])
				}
			}
		}
	}
	// The alerts the issue asks for.
	for _, want := range []string{"WiretagConsumerLagGrowing", "WiretagDeadLetterRateHigh", "WiretagNotReady", "WiretagNoProgress", "WiretagRestarting", "WiretagProduceFailures"} {
		if !alerts[want] {
			t.Errorf("alert %s missing", want)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, m := range []string{"wiretag_consumer_lag", "wiretag_dead_letters_total", "wiretag_ready", "wiretag_commits_total", "kube_pod_container_status_restarts_total", "wiretag_produce_failures_total"} {
		if !strings.Contains(all, m) {
			t.Errorf("no rule uses %s", m)
		}
	}
	// The restarts alert selects the container the Deployment runs.
	base, _ := deployments(t)
	if !strings.Contains(all, `container="`+wiretagContainer(t, base).Name+`"`) {
		t.Error("the restarts alert does not select the Deployment's container name")
	}
}

// labelKept reports whether the result of e can carry label l.
func labelKept(c *exprChecker, e parser.Expr, l string) bool {
	if ls := outputLabels(e); ls != nil {
		return slices.Contains(ls, l)
	}
	var kept bool
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if ls, known := c.labelsOf(vs.Name); !known || slices.Contains(ls, l) {
				kept = true
			}
		}
		return nil
	})
	return kept
}

// grafanaVars replaces the dashboard's variables and Grafana's macros with
// values, so the expression is plain PromQL.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m", "${__rate_interval}", "5m",
	"$__interval", "1m", "${__interval}", "1m",
	"$__range", "3h", "${__range}", "3h",
	"${job}", ".+", "$job", ".+",
)

func TestGrafanaDashboard(t *testing.T) {
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int            `json:"id"`
			Type       string         `json:"type"`
			Title      string         `json:"title"`
			GridPos    map[string]int `json:"gridPos"`
			Datasource map[string]any `json:"datasource"`
			Targets    []struct {
				Expr       string         `json:"expr"`
				RefID      string         `json:"refId"`
				Datasource map[string]any `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	raw := readFile(t, dashboardFile)
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs a uid and a title")
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type == "query" {
			q := fmt.Sprint(v.Query)
			if m, ok := v.Query.(map[string]any); ok {
				q = fmt.Sprint(m["query"])
			}
			lv := regexp.MustCompile(`^label_values\((\w+),\s*(\w+)\)$`).FindStringSubmatch(q)
			if lv == nil {
				t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q)
			} else if liveMetrics(t)[lv[1]] == nil {
				t.Errorf("variable %s: %s is not exported", v.Name, lv[1])
			}
		}
	}
	if !vars["datasource"] || !vars["job"] {
		t.Errorf("dashboard variables %v: want datasource and job", vars)
	}
	c := newExprChecker(liveMetrics(t))
	ids := map[int]bool{}
	var all []string
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos["w"] == 0 || p.GridPos["h"] == 0 {
			t.Errorf("panel %q has no size", p.Title)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		if p.Datasource["uid"] != "${datasource}" {
			t.Errorf("panel %q: datasource %v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		for _, tg := range p.Targets {
			if !strings.Contains(tg.Expr, `job=~"$job"`) {
				t.Errorf("panel %q: %s ignores the job variable", p.Title, tg.Expr)
			}
			_, problems := c.check(grafanaVars.Replace(tg.Expr))
			for _, pr := range problems {
				t.Errorf("panel %q, %s: %s", p.Title, tg.Expr, pr)
			}
			all = append(all, tg.Expr)
		}
	}
	joined := strings.Join(all, "\n")
	// What the dashboard is for: throughput, latency quantiles from the
	// histograms, lag per partition, dead letters by reason, top topics and
	// actors, alerts by rule.
	for _, want := range []string{
		"rate(wiretag_consumed_total", "rate(wiretag_produced_total",
		"histogram_quantile(0.5, sum by (le) (rate(wiretag_processing_seconds_bucket",
		"histogram_quantile(0.99, sum by (le) (rate(wiretag_processing_seconds_bucket",
		"histogram_quantile(0.99, sum by (le) (rate(wiretag_end_to_end_seconds_bucket",
		"max by (topic, partition) (wiretag_consumer_lag",
		"sum by (reason) (rate(wiretag_dead_letters_total",
		"topk(10, sum by (topic) (increase(wiretag_topic_tags_total",
		"sum by (kind) (increase(wiretag_actor_tags_total",
		"sum by (rule) (rate(wiretag_alerts_total",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no panel queries %s", want)
		}
	}
}

// promtoolTests is the format of `promtool test rules` files.
type promtoolTests struct {
	RuleFiles          []string `yaml:"rule_files"`
	EvaluationInterval string   `yaml:"evaluation_interval"`
	Tests              []struct {
		Name        string `yaml:"name"`
		Interval    string `yaml:"interval"`
		InputSeries []struct {
			Series string `yaml:"series"`
			Values string `yaml:"values"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromqlExprTest []struct {
			Expr       string `yaml:"expr"`
			EvalTime   string `yaml:"eval_time"`
			ExpSamples []struct {
				Labels string  `yaml:"labels"`
				Value  float64 `yaml:"value"`
			} `yaml:"exp_samples"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

const alertTestsFile = "prometheus/alerts_test.yaml"

// Every alert has a unit test in which it fires; the tests' series parse.
// promtool runs them when it is installed (it is not, on the development
// machines and in CI: then that part is skipped, saying so).
func TestAlertRuleUnitTests(t *testing.T) {
	var pt promtoolTests
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, alertTestsFile)))
	dec.KnownFields(true)
	if err := dec.Decode(&pt); err != nil {
		t.Fatalf("%s: %v", alertTestsFile, err)
	}
	if !slices.Equal(pt.RuleFiles, []string{"alerts.yaml"}) {
		t.Errorf("rule_files %v, want [alerts.yaml]", pt.RuleFiles)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(readFile(t, alertsFile), &rf); err != nil {
		t.Fatal(err)
	}
	fires := map[string]bool{}
	p := parser.NewParser(parser.Options{})
	for _, tc := range pt.Tests {
		for _, s := range tc.InputSeries {
			if _, _, err := p.ParseSeriesDesc(s.Series + " " + s.Values); err != nil {
				t.Errorf("%s: series %s %s: %v", tc.Name, s.Series, s.Values, err)
			}
		}
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			}
		}
		for _, e := range tc.PromqlExprTest {
			if _, err := p.ParseExpr(e.Expr); err != nil {
				t.Errorf("%s: %s: %v", tc.Name, e.Expr, err)
			}
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !fires[r.Alert] {
				t.Errorf("alert %s has no unit test in which it fires", r.Alert)
			}
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed: the rule unit tests were checked for coverage and syntax only; run `promtool test rules deploy/prometheus/alerts_test.yaml` to run them")
	}
	cmd := exec.Command(promtool, "test", "rules", filepath.Base(alertTestsFile))
	cmd.Dir = filepath.Dir(alertTestsFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// The dashboard decodes strictly into Grafana's dashboard schema (the types
// Grafana generates from it in grafana-foundation-sdk, panel options
// included): a misspelt or missing field of a panel fails here.
func TestGrafanaDashboardMatchesGrafanaSchema(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	//lint:ignore SA1019 the file is a classic (v1) dashboard, which this type describes
	var d gfdashboard.Dashboard
	err := d.UnmarshalJSONStrict(readFile(t, dashboardFile))
	if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
		err = nil // the SDK returns an empty error list as a non-nil error
	}
	if err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.Title == nil || *d.Title != "wiretag" || len(d.Panels) == 0 {
		t.Errorf("decoded dashboard: title %v, %d panels", d.Title, len(d.Panels))
	}
	//lint:ignore SA1019 as above
	var bad gfdashboard.Dashboard
	err = bad.UnmarshalJSONStrict(bytes.Replace(readFile(t, dashboardFile), []byte(`"displayMode": "gradient"`), []byte(`"displayMod": "gradient"`), 1))
	if be, ok := err.(cog.BuildErrors); err == nil || (ok && len(be) == 0) {
		t.Error("a misspelt panel option was accepted")
	}
}

func yamlDecodeStrict(b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}
