// Package config reads wiretag's settings from WIRETAG_* environment
// variables. The Config struct is the single source of truth: defaults,
// documentation (the desc tags) and the README table all come from it.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the processor's configuration. Every field has an env tag, a
// default (envDefault, possibly empty) and a desc tag; TestREADMETable keeps
// the README in step with them.
type Config struct {
	Brokers               []string      `env:"WIRETAG_BROKERS" envDefault:"localhost:9092" envSeparator:"," desc:"Kafka bootstrap brokers, comma-separated host:port."`
	InputTopic            string        `env:"WIRETAG_INPUT_TOPIC" envDefault:"wiretag.stories" desc:"Topic the raw stories are read from."`
	EnrichedTopic         string        `env:"WIRETAG_ENRICHED_TOPIC" envDefault:"wiretag.enriched" desc:"Topic the enriched records are written to (key = story id)."`
	DeadLetterTopic       string        `env:"WIRETAG_DEAD_LETTER_TOPIC" envDefault:"wiretag.dead-letter" desc:"Topic for messages that cannot be processed: original bytes, key and headers plus wiretag-error-* headers."`
	GroupID               string        `env:"WIRETAG_GROUP_ID" envDefault:"wiretag" desc:"Consumer group id; processors with the same id share the input partitions."`
	Workers               int           `env:"WIRETAG_WORKERS" envDefault:"0" desc:"Stories tagged concurrently; 0 means GOMAXPROCS (the CPUs the process may use, container quota included)."`
	MaxMessageBytes       int           `env:"WIRETAG_MAX_MESSAGE_BYTES" envDefault:"1000000" desc:"Largest input message accepted; larger ones are dead-lettered as oversize."`
	FetchMaxBytes         int           `env:"WIRETAG_FETCH_MAX_BYTES" envDefault:"16777216" desc:"Reader MaxBytes per fetch; must exceed WIRETAG_MAX_MESSAGE_BYTES so oversize messages can be fetched and dead-lettered."`
	BatchSize             int           `env:"WIRETAG_BATCH_SIZE" envDefault:"500" desc:"Stories per batch: their outputs go out in one WriteMessages call, then the batch is committed."`
	BatchWait             time.Duration `env:"WIRETAG_BATCH_WAIT" envDefault:"50ms" desc:"How long to wait for a batch to fill before processing a partial one."`
	WriteBatchTimeout     time.Duration `env:"WIRETAG_WRITE_BATCH_TIMEOUT" envDefault:"1ms" desc:"Writer BatchTimeout: how long kafka-go waits to fill a partition batch. wiretag hands it whole batches, so waiting only adds latency (its own default, 1s, stalls synchronous writes; 5ms doubled p50 latency at 500 stories/s in wiretag bench)."`
	WriteBatchBytes       int           `env:"WIRETAG_WRITE_BATCH_BYTES" envDefault:"1048576" desc:"Writer BatchBytes; an output larger than this cannot be written and its story is dead-lettered."`
	WriteTimeout          time.Duration `env:"WIRETAG_WRITE_TIMEOUT" envDefault:"10s" desc:"Timeout of one produce request."`
	RequiredAcks          string        `env:"WIRETAG_REQUIRED_ACKS" envDefault:"all" desc:"Produce acknowledgements: all, one or none. Anything but all can lose data."`
	Balancer              string        `env:"WIRETAG_BALANCER" envDefault:"hash" desc:"Output partitioner: hash (kafka-go FNV-1a, like Sarama) or murmur2 (like the Java client)."`
	Compression           string        `env:"WIRETAG_COMPRESSION" envDefault:"none" desc:"Output compression: none, gzip, snappy, lz4 or zstd."`
	RetryAttempts         int           `env:"WIRETAG_RETRY_ATTEMPTS" envDefault:"5" desc:"Produce attempts before the processor reports not-ready (it keeps retrying, at the maximum backoff)."`
	RetryBackoff          time.Duration `env:"WIRETAG_RETRY_BACKOFF" envDefault:"100ms" desc:"First backoff between produce attempts; doubles each attempt."`
	RetryMaxBackoff       time.Duration `env:"WIRETAG_RETRY_MAX_BACKOFF" envDefault:"10s" desc:"Cap on the backoff between produce, commit and fetch attempts."`
	CommitInterval        time.Duration `env:"WIRETAG_COMMIT_INTERVAL" envDefault:"100ms" desc:"Least time between two offset commits (0: after every write). Fewer commits leave the broker more time for the stream; a crash re-delivers at most this much more work."`
	CommitTimeout         time.Duration `env:"WIRETAG_COMMIT_TIMEOUT" envDefault:"10s" desc:"Timeout of one offset commit (a commit blocks during a rebalance)."`
	FetchWait             time.Duration `env:"WIRETAG_FETCH_WAIT" envDefault:"250ms" desc:"Reader MaxWait and ReadBatchTimeout; small values keep shutdown fast."`
	SessionTimeout        time.Duration `env:"WIRETAG_SESSION_TIMEOUT" envDefault:"30s" desc:"Consumer group session timeout."`
	RebalanceTimeout      time.Duration `env:"WIRETAG_REBALANCE_TIMEOUT" envDefault:"30s" desc:"Consumer group rebalance timeout."`
	HeartbeatInterval     time.Duration `env:"WIRETAG_HEARTBEAT_INTERVAL" envDefault:"3s" desc:"Consumer group heartbeat interval."`
	StartOffset           string        `env:"WIRETAG_START_OFFSET" envDefault:"first" desc:"Where a group with no committed offset starts: first or last."`
	RulesFile             string        `env:"WIRETAG_RULES_FILE" envDefault:"" desc:"Alert rules YAML; empty means the embedded default rules. Reloaded on SIGHUP and when the file changes."`
	DictionaryDir         string        `env:"WIRETAG_DICTIONARY_DIR" envDefault:"" desc:"Dictionary directory (the *.yaml dictionary files, plus taxonomy.yaml to override the embedded one); empty means the embedded dictionaries. Reloaded on SIGHUP and when a file changes; a set that fails lint is rejected."`
	ReloadInterval        time.Duration `env:"WIRETAG_RELOAD_INTERVAL" envDefault:"5s" desc:"How often the rules file and dictionary directory are checked for changes; 0 disables polling (SIGHUP still works)."`
	HTTPAddr              string        `env:"WIRETAG_HTTP_ADDR" envDefault:":8080" desc:"Address of the HTTP server with /metrics, /healthz and /readyz; empty disables it."`
	Pprof                 bool          `env:"WIRETAG_PPROF" envDefault:"false" desc:"Also serve Go's profiles under /debug/pprof/ on the HTTP server, for tuning under real load; off by default."`
	MemoryLimitMB         int           `env:"WIRETAG_MEMORY_LIMIT_MB" envDefault:"100" desc:"Soft limit of the Go heap in MiB (runtime/debug.SetMemoryLimit): the GC works harder as the heap nears it, so bursts (a backlog after an outage) do not raise RSS. It never fails an allocation. GOMEMLIMIT, if set, wins; 0 disables it."`
	GCPercent             int           `env:"WIRETAG_GC_PERCENT" envDefault:"300" desc:"Go GC target percentage (runtime/debug.SetGCPercent) while WIRETAG_MEMORY_LIMIT_MB is set: the limit already bounds the heap, so the GC need not run at every doubling of a small one (at 500 stories/s it was a third of the processor's CPU). GOGC, if set, wins; -1 turns the percentage off and leaves only the limit."`
	LogLevel              string        `env:"WIRETAG_LOG_LEVEL" envDefault:"info" desc:"Log level: trace, debug, info, warn or error."`
	LogFormat             string        `env:"WIRETAG_LOG_FORMAT" envDefault:"json" desc:"Log format: json or console."`
	ShutdownTimeout       time.Duration `env:"WIRETAG_SHUTDOWN_TIMEOUT" envDefault:"20s" desc:"Deadline for a graceful shutdown: finish in-flight work, write, commit and leave the group."`
	SASLMechanism         string        `env:"WIRETAG_SASL_MECHANISM" envDefault:"none" desc:"SASL mechanism: none, PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."`
	SASLUsername          string        `env:"WIRETAG_SASL_USERNAME" envDefault:"" desc:"SASL user name."`
	SASLPassword          string        `env:"WIRETAG_SASL_PASSWORD" envDefault:"" secret:"true" desc:"SASL password (never logged or printed)."`
	TLSEnabled            bool          `env:"WIRETAG_TLS_ENABLED" envDefault:"false" desc:"Connect to the brokers over TLS."`
	TLSCAFile             string        `env:"WIRETAG_TLS_CA_FILE" envDefault:"" desc:"PEM file of the CAs that sign the brokers' certificates; empty means the system pool."`
	TLSCertFile           string        `env:"WIRETAG_TLS_CERT_FILE" envDefault:"" desc:"PEM client certificate for mutual TLS."`
	TLSKeyFile            string        `env:"WIRETAG_TLS_KEY_FILE" envDefault:"" secret:"true" desc:"PEM private key of the client certificate."`
	TLSInsecureSkipVerify bool          `env:"WIRETAG_TLS_INSECURE_SKIP_VERIFY" envDefault:"false" desc:"Skip verification of the brokers' certificates (testing only)."`
}

// Load reads the configuration from the process environment and validates it.
func Load() (Config, error) { return LoadFrom(envMap(os.Environ())) }

// LoadFrom reads the configuration from the given variables (nil means none
// set) and validates it. The error lists every problem, parse errors included.
func LoadFrom(vars map[string]string) (Config, error) {
	var c Config
	if vars == nil {
		vars = map[string]string{}
	}
	var problems []error
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars}); err != nil {
		var agg env.AggregateError
		if errors.As(err, &agg) {
			problems = append(problems, agg.Errors...)
		} else {
			problems = append(problems, err)
		}
	}
	if err := c.Validate(); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("invalid configuration: %w", errors.Join(problems...))
	}
	return c, nil
}

// Default returns the configuration with every variable unset.
func Default() Config {
	c, err := LoadFrom(nil)
	if err != nil {
		panic("config: defaults are invalid: " + err.Error())
	}
	return c
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// topicName is Kafka's legal topic name.
var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// ValidTopic reports whether name is a legal Kafka topic name.
func ValidTopic(name string) bool { return topicName.MatchString(name) && name != "." && name != ".." }

// Validate checks the configuration and reports every problem at once, each
// naming its variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(v, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", v, fmt.Sprintf(format, a...)))
	}
	if len(c.Brokers) == 0 {
		bad("WIRETAG_BROKERS", "at least one broker is required")
	}
	if c.GCPercent < -1 || c.GCPercent == 0 || c.GCPercent > 10000 {
		bad("WIRETAG_GC_PERCENT", "%d is not -1 or 1..10000", c.GCPercent)
	}
	if c.MemoryLimitMB < 0 || c.MemoryLimitMB > 1<<20 {
		bad("WIRETAG_MEMORY_LIMIT_MB", "%d is outside 0..1048576", c.MemoryLimitMB)
	} else if c.MemoryLimitMB > 0 && c.MemoryLimitMB < 32 {
		bad("WIRETAG_MEMORY_LIMIT_MB", "%d MiB is below what the dictionaries and one batch need (32); the GC would run constantly", c.MemoryLimitMB)
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			bad("WIRETAG_BROKERS", "%q is not host:port", b)
		}
	}
	topics := map[string]string{}
	for _, t := range []struct{ v, name string }{
		{"WIRETAG_INPUT_TOPIC", c.InputTopic},
		{"WIRETAG_ENRICHED_TOPIC", c.EnrichedTopic},
		{"WIRETAG_DEAD_LETTER_TOPIC", c.DeadLetterTopic},
	} {
		if !ValidTopic(t.name) {
			bad(t.v, "%q is not a valid topic name (1-249 of a-z A-Z 0-9 . _ -)", t.name)
			continue
		}
		if other, dup := topics[t.name]; dup {
			bad(t.v, "same topic %q as %s; a processor must not read its own output", t.name, other)
		}
		topics[t.name] = t.v
	}
	if strings.TrimSpace(c.GroupID) == "" {
		bad("WIRETAG_GROUP_ID", "must not be empty")
	}
	if c.Workers < 0 || c.Workers > 1024 {
		bad("WIRETAG_WORKERS", "%d is outside 0..1024", c.Workers)
	}
	if c.MaxMessageBytes < 1024 {
		bad("WIRETAG_MAX_MESSAGE_BYTES", "%d is below 1024", c.MaxMessageBytes)
	}
	if c.FetchMaxBytes <= c.MaxMessageBytes {
		bad("WIRETAG_FETCH_MAX_BYTES", "%d must exceed WIRETAG_MAX_MESSAGE_BYTES (%d) so oversize messages can be fetched", c.FetchMaxBytes, c.MaxMessageBytes)
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		bad("WIRETAG_BATCH_SIZE", "%d is outside 1..100000", c.BatchSize)
	}
	positive := func(v string, d time.Duration) {
		if d <= 0 {
			bad(v, "must be positive, got %s", d)
		}
	}
	positive("WIRETAG_BATCH_WAIT", c.BatchWait)
	positive("WIRETAG_WRITE_BATCH_TIMEOUT", c.WriteBatchTimeout)
	positive("WIRETAG_WRITE_TIMEOUT", c.WriteTimeout)
	positive("WIRETAG_RETRY_BACKOFF", c.RetryBackoff)
	positive("WIRETAG_RETRY_MAX_BACKOFF", c.RetryMaxBackoff)
	positive("WIRETAG_COMMIT_TIMEOUT", c.CommitTimeout)
	if c.CommitInterval < 0 || c.CommitInterval > time.Minute {
		bad("WIRETAG_COMMIT_INTERVAL", "%s is outside 0..1m", c.CommitInterval)
	}
	positive("WIRETAG_FETCH_WAIT", c.FetchWait)
	positive("WIRETAG_SESSION_TIMEOUT", c.SessionTimeout)
	positive("WIRETAG_REBALANCE_TIMEOUT", c.RebalanceTimeout)
	positive("WIRETAG_HEARTBEAT_INTERVAL", c.HeartbeatInterval)
	positive("WIRETAG_SHUTDOWN_TIMEOUT", c.ShutdownTimeout)
	if c.WriteBatchTimeout > time.Second {
		bad("WIRETAG_WRITE_BATCH_TIMEOUT", "%s is above 1s; every synchronous write would wait that long", c.WriteBatchTimeout)
	}
	if c.WriteBatchBytes < 1024 {
		bad("WIRETAG_WRITE_BATCH_BYTES", "%d is below 1024", c.WriteBatchBytes)
	}
	if c.RetryMaxBackoff < c.RetryBackoff {
		bad("WIRETAG_RETRY_MAX_BACKOFF", "%s is below WIRETAG_RETRY_BACKOFF (%s)", c.RetryMaxBackoff, c.RetryBackoff)
	}
	if c.RetryAttempts < 1 {
		bad("WIRETAG_RETRY_ATTEMPTS", "must be at least 1, got %d", c.RetryAttempts)
	}
	if c.HeartbeatInterval >= c.SessionTimeout && c.SessionTimeout > 0 {
		bad("WIRETAG_HEARTBEAT_INTERVAL", "%s must be below WIRETAG_SESSION_TIMEOUT (%s)", c.HeartbeatInterval, c.SessionTimeout)
	}
	if c.ReloadInterval < 0 {
		bad("WIRETAG_RELOAD_INTERVAL", "must not be negative")
	}
	oneOf := func(v, got string, allowed ...string) {
		if !slices.Contains(allowed, got) {
			bad(v, "%q is not one of %s", got, strings.Join(allowed, ", "))
		}
	}
	oneOf("WIRETAG_REQUIRED_ACKS", c.RequiredAcks, "all", "one", "none")
	oneOf("WIRETAG_BALANCER", c.Balancer, "hash", "murmur2")
	oneOf("WIRETAG_COMPRESSION", c.Compression, "none", "gzip", "snappy", "lz4", "zstd")
	oneOf("WIRETAG_START_OFFSET", c.StartOffset, "first", "last")
	oneOf("WIRETAG_LOG_LEVEL", c.LogLevel, "trace", "debug", "info", "warn", "error")
	oneOf("WIRETAG_LOG_FORMAT", c.LogFormat, "json", "console")
	oneOf("WIRETAG_SASL_MECHANISM", c.SASLMechanism, "none", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
	if c.SASLMechanism != "none" {
		if c.SASLUsername == "" {
			bad("WIRETAG_SASL_USERNAME", "required when WIRETAG_SASL_MECHANISM is %s", c.SASLMechanism)
		}
		if c.SASLPassword == "" {
			bad("WIRETAG_SASL_PASSWORD", "required when WIRETAG_SASL_MECHANISM is %s", c.SASLMechanism)
		}
		if !c.TLSEnabled {
			// Allowed (SASL_PLAINTEXT exists), but PLAIN then sends the password in clear.
			if c.SASLMechanism == "PLAIN" {
				bad("WIRETAG_TLS_ENABLED", "SASL PLAIN without TLS sends the password in clear; enable TLS")
			}
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("WIRETAG_TLS_CERT_FILE", "WIRETAG_TLS_CERT_FILE and WIRETAG_TLS_KEY_FILE must be set together")
	}
	if !c.TLSEnabled && (c.TLSCAFile != "" || c.TLSCertFile != "" || c.TLSInsecureSkipVerify) {
		bad("WIRETAG_TLS_ENABLED", "TLS files or skip-verify are set but TLS is not enabled")
	}
	for _, f := range []struct{ v, path string }{
		{"WIRETAG_TLS_CA_FILE", c.TLSCAFile},
		{"WIRETAG_TLS_CERT_FILE", c.TLSCertFile},
		{"WIRETAG_TLS_KEY_FILE", c.TLSKeyFile},
		{"WIRETAG_RULES_FILE", c.RulesFile},
	} {
		if f.path == "" {
			continue
		}
		if st, err := os.Stat(f.path); err != nil {
			bad(f.v, "%v", err)
		} else if st.IsDir() {
			bad(f.v, "%s is a directory", f.path)
		}
	}
	if c.DictionaryDir != "" {
		if st, err := os.Stat(c.DictionaryDir); err != nil {
			bad("WIRETAG_DICTIONARY_DIR", "%v", err)
		} else if !st.IsDir() {
			bad("WIRETAG_DICTIONARY_DIR", "%s is not a directory", c.DictionaryDir)
		}
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("WIRETAG_HTTP_ADDR", "%q is not [host]:port", c.HTTPAddr)
		}
	}
	return errors.Join(errs...)
}

// Var describes one configuration variable.
type Var struct {
	Name    string
	Default string
	Desc    string
	Secret  bool
	Value   string // the effective value, "***" for a set secret
}

// Vars lists the variables in struct order with the effective values of c,
// secrets redacted.
func (c Config) Vars() []Var {
	rv := reflect.ValueOf(c)
	rt := rv.Type()
	out := make([]Var, 0, rt.NumField())
	for i := range rt.NumField() {
		f := rt.Field(i)
		v := Var{
			Name:    f.Tag.Get("env"),
			Default: f.Tag.Get("envDefault"),
			Desc:    f.Tag.Get("desc"),
			Secret:  f.Tag.Get("secret") == "true",
		}
		fv := rv.Field(i)
		switch fv.Kind() {
		case reflect.Slice:
			parts := make([]string, fv.Len())
			for j := range parts {
				parts[j] = fmt.Sprint(fv.Index(j).Interface())
			}
			v.Value = strings.Join(parts, ",")
		default:
			v.Value = fmt.Sprint(fv.Interface())
		}
		if v.Secret && v.Value != "" {
			v.Value = "***"
		}
		out = append(out, v)
	}
	return out
}

// Redacted returns a copy of c that is safe to print or log.
func (c Config) Redacted() Config {
	if c.SASLPassword != "" {
		c.SASLPassword = "***"
	}
	if c.TLSKeyFile != "" {
		// A path, not key material, but keep it out of logs all the same.
		c.TLSKeyFile = "***"
	}
	return c
}

// String prints the redacted configuration, so a Config passed to a logger
// or fmt never shows a secret.
func (c Config) String() string {
	var b strings.Builder
	for _, v := range c.Vars() {
		fmt.Fprintf(&b, "%s=%s\n", v.Name, v.Value)
	}
	return b.String()
}

// MarshalJSON writes the variables and their effective values, secrets
// redacted, so a Config handed to a JSON logger never leaks one.
func (c Config) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, 48)
	for _, v := range c.Vars() {
		m[v.Name] = v.Value
	}
	return json.Marshal(m)
}

// MarkdownTable renders the variables as the README's configuration table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Description |\n|---|---|---|\n")
	for _, v := range (Config{}).Vars() {
		def := "`" + v.Default + "`"
		if v.Default == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, strings.ReplaceAll(v.Desc, "|", `\|`))
	}
	return b.String()
}
