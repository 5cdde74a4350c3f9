package kafkaio

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/config"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err   error
		fatal bool
		hint  string
	}{
		{fmt.Errorf("metadata: %w", kafka.SASLAuthenticationFailed), true, "WIRETAG_SASL_PASSWORD"},
		{kafka.UnsupportedSASLMechanism, true, "WIRETAG_SASL_MECHANISM"},
		{fmt.Errorf("dial: %w", x509.UnknownAuthorityError{}), true, "WIRETAG_TLS_CA_FILE"},
		{fmt.Errorf("dial: %w", &tls.CertificateVerificationError{Err: errors.New("x")}), true, "WIRETAG_TLS_CA_FILE"},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true, "WIRETAG_TLS_ENABLED"},
		{kafka.LeaderNotAvailable, false, ""},
		{errors.New("unexpected EOF"), false, ""},
	} {
		got := Classify(c.err)
		if errors.Is(got, ErrFatal) != c.fatal || !strings.Contains(got.Error(), c.hint) {
			t.Errorf("Classify(%v) = %v", c.err, got)
		}
	}
}

func TestSecurityConfig(t *testing.T) {
	c := config.Default()
	c.SASLMechanism, c.SASLUsername, c.SASLPassword = "SCRAM-SHA-512", "u", "p"
	m, err := SASL(c)
	if err != nil || m.Name() != "SCRAM-SHA-512" {
		t.Fatalf("scram: %v %v", m, err)
	}
	c.SASLMechanism = "PLAIN"
	if m, _ := SASL(c); m.Name() != "PLAIN" {
		t.Fatal("plain")
	}
	c.TLSEnabled = true
	bad := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
	c.TLSCAFile = bad
	if _, err := TLSConfig(c); err == nil || !strings.Contains(err.Error(), "WIRETAG_TLS_CA_FILE") {
		t.Fatalf("bad CA file: %v", err)
	}
	c.TLSCAFile = ""
	tc, err := TLSConfig(c)
	if err != nil || tc.InsecureSkipVerify || tc.MinVersion < tls.VersionTLS12 {
		t.Fatalf("tls config %+v %v", tc, err)
	}
}

func TestWriterSettingsExplicit(t *testing.T) {
	c := config.Default()
	w, err := NewWriter(c, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if w.RequiredAcks != kafka.RequireAll || w.BatchTimeout != c.WriteBatchTimeout || w.Async || w.AllowAutoTopicCreation {
		t.Fatalf("unsafe writer: %+v", w)
	}
	if _, ok := w.Balancer.(*kafka.Hash); !ok {
		t.Fatalf("balancer %T", w.Balancer)
	}
	c.Balancer = "murmur2"
	if w, _ := NewWriter(c, testLogger()); fmt.Sprintf("%T", w.Balancer) != "kafka.Murmur2Balancer" {
		t.Fatalf("balancer %T", w.Balancer)
	}
	r, err := NewReader(c, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
}
