package service_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/kafkaio"
	"github.com/wiretag/wiretag/processor/kafkatest"
	"github.com/wiretag/wiretag/processor/service"
	"github.com/wiretag/wiretag/processor/stream"
)

// throwaway CA and a server certificate for 127.0.0.1; returns the server
// TLS config and the CA's PEM file.
func testPKI(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wiretag test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}, MinVersion: tls.VersionTLS12}, caFile
}

// SCRAM-SHA-512 over TLS with a verified certificate: stories flow. A wrong
// password or an untrusted certificate fails start-up at once, with a clear
// message, and the password is in no log line.
func TestSASLSCRAMOverTLS(t *testing.T) {
	if os.Getenv(kafkatest.EnvBrokers) != "" {
		t.Skip("needs the in-process broker's SASL_SSL listener; the real-broker security suite lives in deploy/local-kafka")
	}
	const user, pass = "wiretag", "s3cret-Passw0rd-not-for-logs"
	srvTLS, caFile := testPKI(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(srvTLS), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", user, pass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)

	base := config.Default()
	base.Brokers = cluster.ListenAddrs()
	base.SASLMechanism, base.SASLUsername, base.SASLPassword = "SCRAM-SHA-512", user, pass
	base.TLSEnabled, base.TLSCAFile = true, caFile
	base.HTTPAddr, base.LogLevel = "", "debug"
	base.InputTopic, base.EnrichedTopic, base.DeadLetterTopic, base.GroupID = "sec.in", "sec.enriched", "sec.dlq", "sec"
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}

	client, err := kafkaio.NewClient(base)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Transport.(*kafka.Transport).CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rulesPath := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte("rules:\n  - name: cf\n    topic: sec.alerts\n    topics: {any: [ceasefire]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base.RulesFile = rulesPath
	if err := kafkaio.CreateTopics(ctx, client, 2, 1, "sec.in", "sec.enriched", "sec.dlq", "sec.alerts"); err != nil {
		t.Fatal(err)
	}
	tr, _ := kafkaio.Transport(base)
	w := &kafka.Writer{Addr: kafka.TCP(base.Brokers...), Topic: "sec.in", Transport: tr, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	ss := makeStories("sec", 10)
	if err := w.WriteMessages(ctx, storyMessages(ss)...); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	tr.CloseIdleConnections()

	var logs strings.Builder
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	logw := zerolog.SyncWriter(&lockedBuilder{b: &logs, mu: mu})
	log := zerolog.New(logw).Level(zerolog.DebugLevel)

	var n atomic.Int64
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- service.Run(rctx, base, "test", log, service.Hooks{Observe: func(o stream.Outcome) {
			if o.DeadLetter == nil {
				n.Add(1)
			}
		}})
	}()
	kafkatest.Eventually(t, 60*time.Second, "10 stories over SASL_SSL", func() bool { return n.Load() == 10 })
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// An untrusted certificate fails start-up at once.
	c := base
	c.TLSCAFile = ""
	fctx, fcancel := context.WithTimeout(context.Background(), 20*time.Second)
	t0 := time.Now()
	err = service.Run(fctx, c, "test", log, service.Hooks{})
	fcancel()
	if !errors.Is(err, kafkaio.ErrFatal) || time.Since(t0) > 5*time.Second {
		t.Errorf("untrusted CA: want a fatal start-up error at once, got %v after %s", err, time.Since(t0))
	}
	t.Logf("untrusted CA: %v", err)

	// A wrong password: Kafka answers SASL_AUTHENTICATION_FAILED, which is
	// fatal at once (TestClassify); kfake just closes the connection, which
	// looks like a broker going away, so here start-up keeps retrying with
	// backoff until its context ends.
	c = base
	c.SASLPassword = "wrong"
	fctx, fcancel = context.WithTimeout(context.Background(), 1500*time.Millisecond)
	err = service.Run(fctx, c, "test", log, service.Hooks{})
	fcancel()
	if err == nil {
		t.Error("wrong password: start-up succeeded")
	}
	t.Logf("wrong password (kfake): %v", err)
	<-mu
	if strings.Contains(logs.String(), pass) {
		t.Error("the SASL password appears in the logs")
	}
	if !strings.Contains(logs.String(), `"WIRETAG_SASL_PASSWORD":"***"`) {
		t.Error("the effective configuration was not logged (redacted), so the check above proves little")
	}
	mu <- struct{}{}
}

type lockedBuilder struct {
	b  *strings.Builder
	mu chan struct{}
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	<-l.mu
	defer func() { l.mu <- struct{}{} }()
	return l.b.Write(p)
}
