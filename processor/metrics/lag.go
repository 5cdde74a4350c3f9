package metrics

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LagVec is wiretag_consumer_lag: a gauge per topic and partition whose
// series disappear when not set for TTL. Lag is only known from fetched
// messages, so after a rebalance moves a partition away this member would
// otherwise export its last lag for it forever, and lag alerts would fire on
// a partition that is fine. (An owned partition that stays idle is caught up;
// its series expiring reads as "no lag reported".)
type LagVec struct {
	vec  *prometheus.GaugeVec
	ttl  time.Duration
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time // label values joined by \x00 -> last set
}

// NewLagVec creates the lag gauge with the given series TTL.
func NewLagVec(ttl time.Duration) *LagVec {
	return &LagVec{
		vec: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wiretag_consumer_lag",
			Help: "Messages behind the high-water mark, from the last fetched message of each partition this member consumes (series expire when the partition is no longer fetched).",
		}, []string{"topic", "partition"}),
		ttl: ttl, now: time.Now, seen: map[string]time.Time{},
	}
}

// WithLabelValues returns the gauge of (topic, partition); setting it keeps
// the series alive.
func (l *LagVec) WithLabelValues(lvs ...string) prometheus.Gauge {
	return &lagGauge{Gauge: l.vec.WithLabelValues(lvs...), l: l, key: strings.Join(lvs, "\x00")}
}

type lagGauge struct {
	prometheus.Gauge
	l   *LagVec
	key string
}

func (g *lagGauge) Set(v float64) {
	g.l.mu.Lock()
	g.l.seen[g.key] = g.l.now()
	g.l.mu.Unlock()
	g.Gauge.Set(v)
}

// Describe implements prometheus.Collector.
func (l *LagVec) Describe(ch chan<- *prometheus.Desc) { l.vec.Describe(ch) }

// Collect implements prometheus.Collector, dropping expired series first.
func (l *LagVec) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	now := l.now()
	for k, t := range l.seen {
		if now.Sub(t) > l.ttl {
			l.vec.DeleteLabelValues(strings.Split(k, "\x00")...)
			delete(l.seen, k)
		}
	}
	l.mu.Unlock()
	l.vec.Collect(ch)
}
