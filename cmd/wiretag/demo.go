package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/kafkaio"
	"github.com/wiretag/wiretag/processor/rules"
	"github.com/wiretag/wiretag/processor/service"
	"github.com/wiretag/wiretag/processor/stream"
)

func cmdDemo(args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9092", "address of the embedded broker")
	once := fs.Bool("once", false, "exit after the sample stories are processed, with a summary")
	partitions := fs.Int("partitions", 3, "partitions per topic")
	httpAddr := fs.String("http", "127.0.0.1:8080", "address for /metrics, /healthz, /readyz (empty: off; a free port if this one is taken)")
	timeout := fs.Duration("timeout", time.Minute, "with --once: give up after this long")
	verbose := fs.Bool("v", false, "show the processor's logs (otherwise warnings only)")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: wiretag demo [flags]\n\nStarts an in-process Kafka-protocol broker, creates the topics, produces the\nembedded sample stories and runs the same processor as 'wiretag run' on them,\nprinting each result. WIRETAG_* variables apply (brokers are the demo's).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := demo(*addr, *once, *partitions, *httpAddr, *timeout, *verbose, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "wiretag demo: %v\n", err)
		return 1
	}
	return 0
}

func demo(addr string, once bool, partitions int, httpAddr string, timeout time.Duration, verbose bool, out io.Writer) error {
	// The loop's Observe hook and the HTTP server's start-up callback run on
	// their own goroutines and both print.
	out = &lockedWriter{w: out}
	samples, err := config.Samples()
	if err != nil {
		return fmt.Errorf("embedded samples: %w", err)
	}
	// The user's WIRETAG_* settings apply, except where the demo must decide.
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "WIRETAG_") {
			env[k] = v
		}
	}
	env["WIRETAG_BROKERS"] = addr
	env["WIRETAG_HTTP_ADDR"] = freeOr(httpAddr)
	if _, set := env["WIRETAG_LOG_FORMAT"]; !set {
		env["WIRETAG_LOG_FORMAT"] = "console"
	}
	if _, set := env["WIRETAG_LOG_LEVEL"]; !set {
		env["WIRETAG_LOG_LEVEL"] = "warn"
		if verbose {
			env["WIRETAG_LOG_LEVEL"] = "info"
		}
	}
	if _, set := env["WIRETAG_SHUTDOWN_TIMEOUT"]; !set {
		env["WIRETAG_SHUTDOWN_TIMEOUT"] = "5s"
	}
	cfg, err := config.LoadFrom(env)
	if err != nil {
		return err
	}
	log := service.NewLogger(cfg, os.Stderr)

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(network, _ string) (net.Listener, error) {
		return net.Listen(network, addr)
	}))
	if err != nil {
		return fmt.Errorf("start the embedded broker on %s: %w (is something else listening there? try --addr 127.0.0.1:0)", addr, err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	cfg.Brokers = brokers

	ruleSet, err := demoRules(cfg)
	if err != nil {
		return err
	}
	client, err := kafkaio.NewClient(cfg)
	if err != nil {
		return err
	}
	defer client.Transport.(*kafka.Transport).CloseIdleConnections()
	setup, cancelSetup := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelSetup()
	topics := service.Topics(cfg, ruleSet.Topics())
	if err := kafkaio.CreateTopics(setup, client, partitions, 1, topics...); err != nil {
		return err
	}
	fmt.Fprintf(out, "embedded broker on %s; topics: %s\n", strings.Join(brokers, ","), strings.Join(topics, ", "))

	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: cfg.InputTopic, Transport: tr, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchBytes: int64(cfg.FetchMaxBytes)}
	msgs := make([]kafka.Message, len(samples))
	for i, s := range samples {
		msgs[i] = kafka.Message{Key: []byte(s.ID), Value: s.JSON}
	}
	if err := w.WriteMessages(setup, msgs...); err != nil {
		return fmt.Errorf("produce samples: %w", err)
	}
	_ = w.Close()
	fmt.Fprintf(out, "produced %d sample stories to %s\n\n", len(samples), cfg.InputTopic)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	sum := &summary{alerts: map[string]int{}, dead: map[string]int{}, start: time.Now()}
	done := make(chan struct{})
	var doneOnce sync.Once
	hooks := service.Hooks{
		Hup: hup,
		Observe: func(o stream.Outcome) {
			sum.add(out, o)
			if sum.count() >= len(samples) {
				doneOnce.Do(func() { close(done) })
			}
		},
		HTTPStarted: func(a net.Addr) {
			fmt.Fprintf(out, "metrics and probes: http://%s/metrics /healthz /readyz\n\n", a)
		},
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	runErr := make(chan error, 1)
	go func() { runErr <- service.Run(runCtx, cfg, version, log, hooks) }()

	if once {
		select {
		case <-done:
		case <-time.After(timeout):
			cancelRun()
			<-runErr
			return fmt.Errorf("only %d of %d samples processed within %s", sum.count(), len(samples), timeout)
		case <-ctx.Done():
		case err := <-runErr:
			return err
		}
		cancelRun()
		err := <-runErr
		sum.print(out, len(samples))
		return err
	}
	go func() {
		<-done
		fmt.Fprintf(out, "\nThe samples are done; the broker keeps serving on %s. Produce more, for example:\n\n", strings.Join(brokers, ","))
		fmt.Fprintf(out, "  echo '{\"id\":\"my-1\",\"headline\":\"Witkoff meets Putin\",\"body\":\"Steve Witkoff met Vladimir Putin in the Kremlin to discuss the peace plan.\"}' \\\n    | kcat -P -b %s -t %s -k my-1\n\n", brokers[0], cfg.InputTopic)
		fmt.Fprintf(out, "  kcat -C -b %s -t %s -J -e      # read the enriched records\n\nCtrl-C stops.\n\n", brokers[0], cfg.EnrichedTopic)
	}()
	err = <-runErr
	sum.print(out, len(samples))
	return err
}

func demoRules(cfg config.Config) (*rules.Set, error) {
	name, data := config.DefaultRulesName, config.DefaultRules()
	if cfg.RulesFile != "" {
		b, err := os.ReadFile(cfg.RulesFile)
		if err != nil {
			return nil, err
		}
		name, data = cfg.RulesFile, b
	}
	return rules.Parse(name, data, nil)
}

type summary struct {
	mu       sync.Mutex
	start    time.Time
	stories  int
	enriched int
	alerts   map[string]int
	dead     map[string]int
}

func (s *summary) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stories
}

func (s *summary) add(out io.Writer, o stream.Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stories++
	where := fmt.Sprintf("%s/%d@%d", o.Source.Topic, o.Source.Partition, o.Source.Offset)
	if o.DeadLetter != nil {
		s.dead[o.DeadLetter.Class]++
		fmt.Fprintf(out, "✗ %s → dead letter (%s): %v\n\n", where, o.DeadLetter.Class, o.DeadLetter.Err)
		return
	}
	s.enriched++
	e := o.Enriched
	lang := e.Language.Detected
	if e.Language.Declared != "" && e.Language.Declared != lang {
		lang += " (declared " + e.Language.Declared + ")"
	}
	fmt.Fprintf(out, "● %s  [%s]  %s\n", e.ID, lang, truncate(e.Headline, 90))
	var actors []string
	for _, a := range e.Actors {
		n := a.Name
		if a.Quoted {
			n += " (quoted)"
		}
		actors = append(actors, n)
	}
	var topics []string
	for _, t := range e.Topics {
		topics = append(topics, fmt.Sprintf("%s %.2f", t.ID, t.Score))
	}
	fmt.Fprintf(out, "    actors: %s\n    topics: %s\n", orNone(actors), orNone(topics))
	for _, a := range o.Alerts {
		s.alerts[a.Rule]++
		fmt.Fprintf(out, "    ⚑ alert %s → %s\n", a.Rule, a.Topic)
	}
	fmt.Fprintln(out)
}

func (s *summary) print(out io.Writer, samples int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	var rs []string
	for r, n := range s.alerts {
		rs = append(rs, fmt.Sprintf("%s %d", r, n))
		total += n
	}
	sort.Strings(rs)
	var ds []string
	for c, n := range s.dead {
		ds = append(ds, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(ds)
	fmt.Fprintf(out, "summary: %d stories processed (%d samples) in %s: %d enriched, %d alerts (%s), %d dead letters (%s)\n",
		s.stories, samples, time.Since(s.start).Round(time.Millisecond), s.enriched, total, orNone(rs), s.stories-s.enriched, orNone(ds))
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// freeOr returns addr if it can be listened on, else the same host with a
// free port: the demo must not fail because 8080 is busy.
func freeOr(addr string) string {
	if addr == "" {
		return ""
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		host, _, _ := net.SplitHostPort(addr)
		return net.JoinHostPort(host, "0")
	}
	_ = ln.Close()
	return addr
}

// lockedWriter serialises writes from several goroutines to one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
