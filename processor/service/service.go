// Package service wires the processor together from a Config: Kafka reader
// and writer, rules and dictionaries (with reload), metrics and the HTTP
// endpoints. `wiretag run` and `wiretag demo` both run exactly this.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/enrich"
	"github.com/wiretag/wiretag/processor/httpapi"
	"github.com/wiretag/wiretag/processor/kafkaio"
	"github.com/wiretag/wiretag/processor/metrics"
	"github.com/wiretag/wiretag/processor/reload"
	"github.com/wiretag/wiretag/processor/stream"
)

// NewLogger builds the zerolog logger the configuration asks for.
func NewLogger(c config.Config, w io.Writer) zerolog.Logger {
	// Millisecond timestamps: batches complete within one second.
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	if c.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	lvl, err := zerolog.ParseLevel(c.LogLevel)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Str("service", "wiretag").Logger()
}

// Hooks let the demo and tests watch a running processor.
type Hooks struct {
	Metrics     *metrics.Metrics        // nil: a new registry
	Observe     func(stream.Outcome)    // per input message, after its outputs are acknowledged
	HTTPStarted func(net.Addr)          // the HTTP server listens
	Started     func(*stream.Processor) // the loop is about to run
	Hup         <-chan os.Signal        // SIGHUP: reload rules and dictionaries
	Baseline    enrich.Baseline         // copy stories instead of tagging them (wiretag bench's baselines)

	// Tests wrap the Kafka client to inject faults a real broker cannot.
	WrapFetcher  func(stream.Fetcher) stream.Fetcher
	WrapProducer func(stream.Producer) stream.Producer
}

// Run runs the processor until ctx ends, then shuts down within
// c.ShutdownTimeout: stop fetching, finish and write in-flight stories,
// commit, leave the group.
func Run(ctx context.Context, c config.Config, version string, log zerolog.Logger, h Hooks) error {
	log.Info().Str("version", version).Strs("brokers", c.Brokers).Str("input", c.InputTopic).
		Str("enriched", c.EnrichedTopic).Str("dead_letter", c.DeadLetterTopic).Str("group", c.GroupID).
		Str("sasl", c.SASLMechanism).Bool("tls", c.TLSEnabled).Msg("starting")
	// Config marshals redacted (secrets are "***").
	log.Debug().Interface("config", c).Msg("effective configuration")
	if c.RequiredAcks != "all" {
		log.Warn().Str("required_acks", c.RequiredAcks).Msg("WIRETAG_REQUIRED_ACKS is not all: an acknowledged write can still be lost, and its input committed")
	}
	m := h.Metrics
	if m == nil {
		m = metrics.New(version)
	}
	client, err := kafkaio.NewClient(c)
	if err != nil {
		return err
	}
	// Wait for the brokers rather than crash-loop while they start.
	for attempt := 0; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = kafkaio.WaitForBroker(wctx, client)
		cancel()
		if err == nil {
			break
		}
		if errors.Is(err, kafkaio.ErrFatal) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("brokers never answered: %w", err)
		}
		log.Warn().Str("error", kafkaio.Describe(err)).Msg("brokers not reachable yet; retrying")
	}
	checkTopics := func(ctx context.Context, names []string) error {
		missing, err := kafkaio.MissingTopics(ctx, client, names)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("topics missing on the cluster (create them first): %s", strings.Join(missing, ", "))
		}
		return nil
	}
	// A shutdown asked for once the brokers answered, while the rules load
	// or the topics are checked, is a clean stop, not a failed start.
	startupErr := func(err error) error {
		if ctx.Err() != nil {
			log.Info().Str("interrupted", err.Error()).Msg("stopped during start-up")
			return nil
		}
		return fmt.Errorf("start-up: %w", err)
	}
	loader, err := reload.New(ctx, reload.Options{
		RulesFile: c.RulesFile, DictionaryDir: c.DictionaryDir, Log: log, Metrics: m,
		CheckTopics: checkTopics,
	})
	if err != nil {
		return startupErr(err)
	}
	base := []string{c.InputTopic, c.EnrichedTopic, c.DeadLetterTopic}
	if err := checkTopics(ctx, base); err != nil {
		return startupErr(err)
	}
	log.Info().Int("rules", len(loader.Snapshot().Rules.Rules)).Strs("alert_topics", loader.Snapshot().Rules.Topics()).
		Str("rules_source", loader.Snapshot().Rules.Source).Msg("rules loaded")

	reader, err := kafkaio.NewReader(c, log)
	if err != nil {
		return err
	}
	writer, err := kafkaio.NewWriter(c, log)
	if err != nil {
		_ = reader.Close()
		return err
	}
	drain := c.ShutdownTimeout * 3 / 4
	var fetcher stream.Fetcher = reader
	var producer stream.Producer = writer
	if h.WrapFetcher != nil {
		fetcher = h.WrapFetcher(fetcher)
	}
	if h.WrapProducer != nil {
		producer = h.WrapProducer(producer)
	}
	proc := stream.New(stream.Options{
		EnrichedTopic:   c.EnrichedTopic,
		DeadLetterTopic: c.DeadLetterTopic,
		Workers:         c.Workers,
		BatchSize:       c.BatchSize,
		BatchWait:       c.BatchWait,
		MaxMessageBytes: c.MaxMessageBytes,
		WriteBatchBytes: c.WriteBatchBytes,
		RetryAttempts:   c.RetryAttempts,
		RetryBackoff:    c.RetryBackoff,
		RetryMaxBackoff: c.RetryMaxBackoff,
		CommitTimeout:   c.CommitTimeout,
		CommitInterval:  c.CommitInterval,
		DrainTimeout:    drain,
		Version:         version,
		Log:             log,
		Metrics:         m,
		Snapshot:        loader.Snapshot,
		Observe:         h.Observe,
		Baseline:        h.Baseline,
		Committed: func(ctx context.Context, topic string, parts []int) (map[int]int64, error) {
			return kafkaio.CommittedOffsets(ctx, client, c.GroupID, topic, parts)
		},
	}, fetcher, producer)

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	httpErr := make(chan error, 1)
	if c.HTTPAddr != "" {
		go func() {
			handler := httpapi.Handler(m.Handler(), proc.Live, proc.Ready)
			if c.Pprof {
				handler = httpapi.Profiling(handler)
			}
			httpErr <- httpapi.Serve(bg, c.HTTPAddr, handler, log, h.HTTPStarted)
		}()
	}
	go loader.Watch(bg, c.ReloadInterval, h.Hup)
	if h.Started != nil {
		h.Started(proc)
	}

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	runErr := make(chan error, 1)
	go func() { runErr <- proc.Run(runCtx) }()
	var err2 error
	select {
	case err2 = <-runErr:
	case err := <-httpErr:
		if err != nil {
			// Without /metrics and probes the deployment is blind: stop, cleanly.
			log.Error().Err(err).Msg("http server failed; shutting down")
			cancelRun()
			if rerr := <-runErr; rerr != nil {
				log.Error().Err(rerr).Msg("drain")
			}
			err2 = fmt.Errorf("http: %w", err)
		} else {
			err2 = <-runErr
		}
	}
	shutdownStart := time.Now()
	deadline := time.Now().Add(c.ShutdownTimeout - drain)
	closeWithin(log, "writer", func() error {
		err := writer.Close()
		// Writer.Close leaves a caller-supplied Transport's connections open.
		writer.Transport.(*kafka.Transport).CloseIdleConnections()
		return err
	}, deadline)
	closeWithin(log, "reader (leaving the group)", reader.Close, deadline)
	stopBG()
	client.Transport.(*kafka.Transport).CloseIdleConnections()
	log.Info().Dur("close", time.Since(shutdownStart)).Msg("stopped")
	return err2
}

func closeWithin(log zerolog.Logger, what string, closeFn func() error, deadline time.Time) {
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	select {
	case err := <-done:
		if err != nil {
			log.Warn().Err(err).Msgf("closing %s", what)
		}
	case <-time.After(max(time.Until(deadline), 100*time.Millisecond)):
		log.Warn().Msgf("closing %s: shutdown deadline passed; leaving it", what)
	}
}

// Topics lists every topic the configuration and default rules name, for
// creating them in the demo and tests.
func Topics(c config.Config, alertTopics []string) []string {
	ts := append([]string{c.InputTopic, c.EnrichedTopic, c.DeadLetterTopic}, alertTopics...)
	slices.Sort(ts)
	return slices.Compact(ts)
}
