// Package kafkaio builds kafka-go readers, writers and admin clients from the
// configuration, with every setting that matters stated explicitly (kafka-go's
// zero values are unsafe for a processor: no acks, round-robin partitioning,
// one-second batch waits, ten-second closes).
package kafkaio

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/wiretag/wiretag/config"
)

// TLSConfig returns the TLS client configuration, or nil when TLS is off.
func TLSConfig(c config.Config) (*tls.Config, error) {
	if !c.TLSEnabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecureSkipVerify} //nolint:gosec // opt-in, documented as testing only
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("WIRETAG_TLS_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("WIRETAG_TLS_CA_FILE: %s holds no PEM certificate", c.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			// The error names files, never key bytes.
			return nil, fmt.Errorf("WIRETAG_TLS_CERT_FILE/WIRETAG_TLS_KEY_FILE: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// SASL returns the SASL mechanism, or nil when SASL is off.
func SASL(c config.Config) (sasl.Mechanism, error) {
	switch c.SASLMechanism {
	case "", "none":
		return nil, nil
	case "PLAIN":
		return plain.Mechanism{Username: c.SASLUsername, Password: c.SASLPassword}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if c.SASLMechanism == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, c.SASLUsername, c.SASLPassword)
		if err != nil {
			return nil, fmt.Errorf("WIRETAG_SASL_MECHANISM %s: %w", c.SASLMechanism, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("WIRETAG_SASL_MECHANISM: unsupported %q", c.SASLMechanism)
}

// Loggers adapts zerolog to kafka-go's Printf-style loggers: chatter at
// debug, errors at warn (async failures appear only there).
func Loggers(log zerolog.Logger) (kafka.Logger, kafka.Logger) {
	l := log.With().Str("component", "kafka-go").Logger()
	return kafka.LoggerFunc(func(f string, a ...any) { l.Debug().Msgf(f, a...) }),
		kafka.LoggerFunc(func(f string, a ...any) { l.Warn().Msgf(f, a...) })
}

// security is the TLS and SASL settings both the reader and the writer need.
func security(c config.Config) (*tls.Config, sasl.Mechanism, error) {
	tc, err := TLSConfig(c)
	if err != nil {
		return nil, nil, err
	}
	mech, err := SASL(c)
	return tc, mech, err
}

// Dialer is the reader's connection settings (the reader and writer take
// TLS and SASL in different places).
func Dialer(c config.Config) (*kafka.Dialer, error) {
	tc, mech, err := security(c)
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{ClientID: "wiretag", Timeout: 10 * time.Second, DualStack: true, TLS: tc, SASLMechanism: mech}, nil
}

// Transport is the writer's and admin client's connection settings.
func Transport(c config.Config) (*kafka.Transport, error) {
	tc, mech, err := security(c)
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{ClientID: "wiretag", DialTimeout: 10 * time.Second, TLS: tc, SASL: mech, MetadataTTL: 30 * time.Second}, nil
}

// NewReader builds the consumer-group reader of the input topic.
func NewReader(c config.Config, log zerolog.Logger) (*kafka.Reader, error) {
	d, err := Dialer(c)
	if err != nil {
		return nil, err
	}
	lg, elg := Loggers(log)
	start := kafka.FirstOffset
	if c.StartOffset == "last" {
		start = kafka.LastOffset
	}
	rc := kafka.ReaderConfig{
		Brokers:  c.Brokers,
		GroupID:  c.GroupID,
		Topic:    c.InputTopic,
		Dialer:   d,
		MinBytes: 1,
		// At least the largest acceptable message, so an oversize one is
		// fetched (and dead-lettered) instead of stalling the partition.
		MaxBytes:               c.FetchMaxBytes,
		MaxWait:                c.FetchWait,
		ReadBatchTimeout:       2 * c.FetchWait, // above MaxWait, or idle fetches time out
		QueueCapacity:          max(100, c.BatchSize),
		CommitInterval:         0, // synchronous commits: errors are returned, not only logged
		StartOffset:            start,
		HeartbeatInterval:      c.HeartbeatInterval,
		SessionTimeout:         c.SessionTimeout,
		RebalanceTimeout:       c.RebalanceTimeout,
		JoinGroupBackoff:       time.Second,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 10 * time.Second,
		ReadBackoffMin:         100 * time.Millisecond,
		ReadBackoffMax:         c.RetryMaxBackoff,
		MaxAttempts:            3,
		IsolationLevel:         kafka.ReadCommitted,
		Logger:                 lg,
		ErrorLogger:            elg,
	}
	if err := rc.Validate(); err != nil {
		return nil, fmt.Errorf("reader: %w", err)
	}
	return kafka.NewReader(rc), nil
}

// NewWriter builds the one writer for every output topic (Message.Topic
// chooses it). kafka-go retries a failed batch a few times before sending the
// partition's next one, which keeps per-key order through short blips; longer
// failures come back to the stream loop, which retries with its own backoff
// and knows what may be committed.
func NewWriter(c config.Config, log zerolog.Logger) (*kafka.Writer, error) {
	tr, err := Transport(c)
	if err != nil {
		return nil, err
	}
	lg, elg := Loggers(log)
	w := &kafka.Writer{
		Addr:            kafka.TCP(c.Brokers...),
		Transport:       tr,
		Balancer:        Balancer(c.Balancer),
		MaxAttempts:     3,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: 500 * time.Millisecond,
		// kafka-go allocates BatchSize messages (~150 B each) for every
		// partition batch it opens, however few it then holds: a CPU profile
		// at 500 stories/s put 6 % of the processor in zeroing those slots.
		// WriteBatchBytes caps a batch anyway (1 MB is ~150 enriched records).
		BatchSize:              min(c.BatchSize, writerBatchSize),
		BatchBytes:             int64(c.WriteBatchBytes),
		BatchTimeout:           c.WriteBatchTimeout,
		ReadTimeout:            c.WriteTimeout,
		WriteTimeout:           c.WriteTimeout,
		RequiredAcks:           Acks(c.RequiredAcks),
		Async:                  false,
		Compression:            Compression(c.Compression),
		AllowAutoTopicCreation: false,
		Logger:                 lg,
		ErrorLogger:            elg,
	}
	return w, nil
}

// writerBatchSize caps the messages of one partition batch in the writer.
const writerBatchSize = 128

// Balancer maps WIRETAG_BALANCER to a key-hashing balancer.
func Balancer(name string) kafka.Balancer {
	if name == "murmur2" {
		return kafka.Murmur2Balancer{}
	}
	return &kafka.Hash{}
}

// Acks maps WIRETAG_REQUIRED_ACKS.
func Acks(s string) kafka.RequiredAcks {
	switch s {
	case "one":
		return kafka.RequireOne
	case "none":
		return kafka.RequireNone
	}
	return kafka.RequireAll
}

// Compression maps WIRETAG_COMPRESSION.
func Compression(s string) kafka.Compression {
	switch s {
	case "gzip":
		return kafka.Gzip
	case "snappy":
		return kafka.Snappy
	case "lz4":
		return kafka.Lz4
	case "zstd":
		return kafka.Zstd
	}
	return 0
}

// NewClient builds an admin client.
func NewClient(c config.Config) (*kafka.Client, error) {
	tr, err := Transport(c)
	if err != nil {
		return nil, err
	}
	return &kafka.Client{Addr: kafka.TCP(c.Brokers...), Timeout: 10 * time.Second, Transport: tr}, nil
}

// MissingTopics returns the topics of names the cluster does not have (or
// will not show us). A missing output topic would fail every write that
// names it, so the processor checks before it starts and on rules reload.
func MissingTopics(ctx context.Context, cl *kafka.Client, names []string) ([]string, error) {
	resp, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	found := map[string]bool{}
	for _, t := range resp.Topics {
		if t.Error == nil && len(t.Partitions) > 0 {
			found[t.Name] = true
		}
	}
	var missing []string
	for _, n := range names {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// CreateTopics creates topics (ignoring ones that exist), for the demo and
// tests; production topics are the operator's to create.
func CreateTopics(ctx context.Context, cl *kafka.Client, partitions, replication int, names ...string) error {
	req := &kafka.CreateTopicsRequest{}
	for _, n := range names {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: n, NumPartitions: partitions, ReplicationFactor: replication})
	}
	resp, err := cl.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	var errs []error
	for n, e := range resp.Errors {
		if e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", n, e))
		}
	}
	return errors.Join(errs...)
}

// ErrFatal marks connection errors that retrying cannot fix: wrong
// credentials, an unsupported mechanism, an untrusted certificate.
var ErrFatal = errors.New("not retryable")

// Classify wraps err with ErrFatal when it is a security failure, adding a
// hint for the operator.
func Classify(err error) error {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		header    tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, kafka.SASLAuthenticationFailed):
		return fmt.Errorf("%w: SASL authentication failed: check WIRETAG_SASL_USERNAME, WIRETAG_SASL_PASSWORD and WIRETAG_SASL_MECHANISM (%v)", ErrFatal, err)
	case errors.Is(err, kafka.UnsupportedSASLMechanism), errors.Is(err, kafka.IllegalSASLState):
		return fmt.Errorf("%w: the broker does not accept WIRETAG_SASL_MECHANISM here (%v)", ErrFatal, err)
	case errors.As(err, &unknownCA), errors.As(err, &verify), errors.As(err, &hostname), errors.As(err, &invalid):
		return fmt.Errorf("%w: the broker's TLS certificate is not trusted: check WIRETAG_TLS_CA_FILE and the broker address (%v)", ErrFatal, err)
	case errors.As(err, &header):
		return fmt.Errorf("%w: the broker did not answer TLS: is WIRETAG_TLS_ENABLED right for this listener? (%v)", ErrFatal, err)
	}
	return err
}

// WaitForBroker polls until the cluster answers a metadata request. A
// security failure returns at once (wrapping ErrFatal): retrying would only
// hammer the broker with failing logins.
func WaitForBroker(ctx context.Context, cl *kafka.Client) error {
	backoff := 100 * time.Millisecond
	for {
		_, err := cl.Metadata(ctx, &kafka.MetadataRequest{})
		if err == nil {
			return nil
		}
		if err := Classify(err); errors.Is(err, ErrFatal) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker %s not reachable: %w", cl.Addr, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Describe returns a short human description of an error for logs, adding
// the usual cause of an opaque EOF (TLS listener spoken to in plaintext).
func Describe(err error) string {
	s := err.Error()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return s + " (timeout)"
	}
	if strings.Contains(s, "unexpected EOF") {
		return s + " (a TLS or SASL listener reached without TLS/SASL looks like this)"
	}
	return s
}

// CommittedOffsets returns the group's committed offsets (next offset to
// consume; -1 when none) of partitions of topic.
func CommittedOffsets(ctx context.Context, cl *kafka.Client, group, topic string, partitions []int) (map[int]int64, error) {
	resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: partitions}})
	if err != nil {
		return nil, fmt.Errorf("offset fetch: %w", err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("offset fetch: %w", resp.Error)
	}
	out := make(map[int]int64, len(partitions))
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("offset fetch %s/%d: %w", topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}
