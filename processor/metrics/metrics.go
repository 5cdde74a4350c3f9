// Package metrics defines wiretag's Prometheus metrics. The names are a
// contract with the deploy engineer's alerts: change them only with them.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Output kinds, the values of the kind label of wiretag_produced_total.
const (
	KindEnriched   = "enriched"
	KindAlert      = "alert"
	KindDeadLetter = "dead_letter"
)

// Stages of a batch, the values of the stage label of wiretag_stage_seconds.
const (
	StageBatching   = "batching"    // first message fetched -> the tag stage takes the batch
	StageTagging    = "tagging"     // decode, tag, rules and encode of the whole batch
	StageWriteQueue = "write_queue" // tagged -> the write stage takes it
	StageWriting    = "writing"     // one produce call, until every output is acknowledged
)

// Metrics holds every collector, on its own registry so several processors
// (tests, the demo) can live in one process.
type Metrics struct {
	Registry *prometheus.Registry

	Consumed        *prometheus.CounterVec   // topic
	Produced        *prometheus.CounterVec   // topic, kind
	DeadLetters     *prometheus.CounterVec   // reason
	Alerts          *prometheus.CounterVec   // rule
	TopicTags       *prometheus.CounterVec   // topic
	ActorTags       *prometheus.CounterVec   // kind
	Processing      prometheus.Histogram     // decode+tag+encode of one story
	EndToEnd        prometheus.Histogram     // input timestamp -> outputs acknowledged
	WriteRecords    prometheus.Histogram     // records per WriteMessages call
	Stage           *prometheus.HistogramVec // stage: where a batch's latency goes
	ConsumerLag     *LagVec                  // topic, partition (series expire)
	InFlight        prometheus.Gauge         // stories fetched, not yet committed
	ProduceRetries  prometheus.Counter       // write attempts after a failure
	ProduceFailures prometheus.Counter       // writes abandoned (retries exhausted, or a record that can never be written)
	Commits         prometheus.Counter       // successful commit calls
	CommitFailures  prometheus.Counter       // failed commit calls
	Ready           prometheus.Gauge         // 0/1, as /readyz
	LastCommit      prometheus.Gauge         // unix time of the last successful commit
	Reloads         *prometheus.CounterVec   // what (rules|dictionaries), result (ok|error)
	BuildInfo       *prometheus.GaugeVec     // version
}

// New creates the metrics on a fresh registry, with the Go and process
// collectors.
func New(version string) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wiretag_consumed_total", Help: "Input messages fetched.",
		}, []string{"topic"}),
		Produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wiretag_produced_total", Help: "Output records acknowledged by the brokers, by topic and kind (enriched, alert, dead_letter).",
		}, []string{"topic", "kind"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wiretag_dead_letters_total", Help: "Input messages written to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wiretag_alerts_total", Help: "Alert records written, by rule.",
		}, []string{"rule"}),
		TopicTags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wiretag_topic_tags_total", Help: "Stories tagged with a topic, by topic id.",
		}, []string{"topic"}),
		ActorTags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wiretag_actor_tags_total", Help: "Actors tagged in stories, by actor kind.",
		}, []string{"kind"}),
		Processing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wiretag_processing_seconds", Help: "Time to decode, tag, evaluate rules and encode one story.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2.5, 12),
		}),
		EndToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wiretag_end_to_end_seconds", Help: "From the input record's timestamp to its outputs being acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}),
		WriteRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wiretag_write_records", Help: "Records per produce call (one call per written batch; each call sends one request per partition it touches).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		Stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wiretag_stage_seconds", Help: "Time a batch spends in each stage: batching (first fetch to the tag stage), tagging, write_queue (tagged to the write stage) and writing (the produce call).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"stage"}),
		ConsumerLag: NewLagVec(2 * time.Minute),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wiretag_in_flight", Help: "Input messages fetched and not yet committed.",
		}),
		ProduceRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wiretag_produce_retries_total", Help: "Produce attempts repeated after a transient failure.",
		}),
		ProduceFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wiretag_produce_failures_total", Help: "Produce failures that exhausted the retry budget or can never succeed (the record is then dead-lettered or the partition held).",
		}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wiretag_commits_total", Help: "Successful offset commits.",
		}),
		CommitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wiretag_commit_failures_total", Help: "Failed offset commits (retried with the next batch).",
		}),
		Ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wiretag_ready", Help: "1 when fetching works and the last write succeeded, as /readyz.",
		}),
		LastCommit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wiretag_last_commit_timestamp_seconds", Help: "Unix time of the last successful offset commit.",
		}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wiretag_reloads_total", Help: "Reloads of rules or dictionaries, by what and result (ok, error).",
		}, []string{"what", "result"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wiretag_build_info", Help: "Always 1; the version label says which wiretag runs.",
		}, []string{"version"}),
	}
	m.Registry.MustRegister(
		m.Consumed, m.Produced, m.DeadLetters, m.Alerts, m.TopicTags, m.ActorTags,
		m.Processing, m.EndToEnd, m.WriteRecords, m.Stage, m.ConsumerLag, m.InFlight, m.ProduceRetries,
		m.ProduceFailures, m.Commits, m.CommitFailures, m.Ready, m.LastCommit,
		m.Reloads, m.BuildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.BuildInfo.WithLabelValues(version).Set(1)
	for _, r := range []string{"ok", "error"} {
		for _, w := range []string{"rules", "dictionaries"} {
			m.Reloads.WithLabelValues(w, r)
		}
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
