package main

// Security against a real broker's SASL_SSL listener (issue 4, item 4):
// SCRAM-SHA-512 over TLS with the broker certificate verified, a story end
// to end; a wrong password and an untrusted CA each stop `wiretag run`
// within seconds with a message naming the cause, after a handful of
// connections (no retry storm); and the password never appears in the logs
// or in `wiretag config`.
//
//	deploy/local-kafka/kafka.sh start sasl
//	eval "$(deploy/local-kafka/kafka.sh env)"
//	go test -count=1 -run 'TestSecurity' ./cmd/wiretag

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/kafkaio"
	"github.com/wiretag/wiretag/processor/kafkatest"
	"github.com/wiretag/wiretag/processor/stream"
)

// saslBroker is the SASL_SSL listener of kafka.sh's sasl mode.
type saslBroker struct {
	brokers, mechanism, user, password, ca string
}

func saslFromEnv(t *testing.T) saslBroker {
	t.Helper()
	names := []string{"WIRETAG_TEST_SASL_BROKERS", "WIRETAG_TEST_SASL_MECHANISM", "WIRETAG_TEST_SASL_USER",
		"WIRETAG_TEST_SASL_PASSWORD_FILE", "WIRETAG_TEST_TLS_CA"}
	var missing []string
	for _, n := range names {
		if os.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Skipf("needs a SASL_SSL broker; %s not set (deploy/local-kafka/kafka.sh start sasl; eval \"$(deploy/local-kafka/kafka.sh env)\")",
			strings.Join(missing, ", "))
	}
	pw, err := os.ReadFile(os.Getenv("WIRETAG_TEST_SASL_PASSWORD_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	b := saslBroker{brokers: os.Getenv("WIRETAG_TEST_SASL_BROKERS"), mechanism: os.Getenv("WIRETAG_TEST_SASL_MECHANISM"),
		user: os.Getenv("WIRETAG_TEST_SASL_USER"), password: strings.TrimSpace(string(pw)), ca: os.Getenv("WIRETAG_TEST_TLS_CA")}
	if len(b.password) < 8 {
		t.Fatalf("password in %s is too short to grep for reliably", os.Getenv("WIRETAG_TEST_SASL_PASSWORD_FILE"))
	}
	return b
}

// vars is wiretag's environment for this broker (brokers may be a proxy).
func (b saslBroker) vars(brokers, password, ca string) map[string]string {
	return map[string]string{
		"WIRETAG_BROKERS":        brokers,
		"WIRETAG_SASL_MECHANISM": b.mechanism,
		"WIRETAG_SASL_USERNAME":  b.user,
		"WIRETAG_SASL_PASSWORD":  password,
		"WIRETAG_TLS_ENABLED":    "true",
		"WIRETAG_TLS_CA_FILE":    ca,
		// debug: kafka-go's own chatter is logged too, and must not leak either
		"WIRETAG_LOG_LEVEL":        "debug",
		"WIRETAG_RELOAD_INTERVAL":  "0s",
		"WIRETAG_SHUTDOWN_TIMEOUT": "10s",
		"WIRETAG_BATCH_WAIT":       "20ms",
	}
}

// config is the same settings as a Config, for the test's own clients.
func (b saslBroker) config(t *testing.T) config.Config {
	t.Helper()
	c := config.Default()
	c.Brokers = strings.Split(b.brokers, ",")
	c.SASLMechanism, c.SASLUsername, c.SASLPassword = b.mechanism, b.user, b.password
	c.TLSEnabled, c.TLSCAFile = true, b.ca
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func assertNoSecret(t *testing.T, what, text, secret string) {
	t.Helper()
	if strings.Contains(text, secret) {
		i := strings.Index(text, secret)
		t.Errorf("the SASL password appears in %s: …%s…", what, strings.ReplaceAll(text[max(0, i-120):i], secret, "<PASSWORD>"))
	}
}

// A story end to end over SASL_SSL (SCRAM-SHA-512, CA verified): topics are
// created, stories produced and outputs read back by the test over the same
// listener; then a clean stop, and no password in logs, /metrics or config.
func TestSecuritySASLSSLEndToEnd(t *testing.T) {
	b := saslFromEnv(t)
	cfg := b.config(t)
	cl, err := kafkaio.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Transport.(*kafka.Transport).CloseIdleConnections()
	env := &kafkatest.Env{Brokers: cfg.Brokers, Client: cl} // reads over SASL_SSL
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	in, enriched, dlq, alert := "wt-sec-in-"+suffix, "wt-sec-enriched-"+suffix, "wt-sec-dlq-"+suffix, "wt-sec-alert-"+suffix
	env.CreateTopics(t, 2, in, enriched, dlq, alert)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(rules, []byte(fmt.Sprintf("rules:\n  - name: ceasefire\n    topic: %s\n    topics:\n      any: [ceasefire]\n", alert)), 0o644)

	vars := b.vars(b.brokers, b.password, b.ca)
	vars["WIRETAG_INPUT_TOPIC"], vars["WIRETAG_ENRICHED_TOPIC"], vars["WIRETAG_DEAD_LETTER_TOPIC"] = in, enriched, dlq
	vars["WIRETAG_GROUP_ID"], vars["WIRETAG_RULES_FILE"] = "wt-sec-group-"+suffix, rules
	vars["WIRETAG_HTTP_ADDR"] = freePort(t)
	p := startWiretag(t, "wiretag-sasl", vars, "run")

	tr, err := kafkaio.Transport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(cfg.Brokers...), Topic: in, Transport: tr, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = writeAll(ctx, w, []kafka.Message{
		{Key: []byte("sec-1"), Value: []byte(`{"id":"sec-1","headline":"Kremlin weighs ceasefire","body":"Vladimir Putin told Steve Witkoff that Russia could accept a ceasefire if Ukraine withdrew."}`)},
		{Key: []byte("sec-2"), Value: []byte(`{"id":"sec-2","headline":"EU assets","body":"The European Union is considering using frozen Russian assets held at Euroclear."}`)},
		{Key: []byte("sec-bad"), Value: []byte(`{"id":"sec-bad","body":`)},
	})
	w.Close()
	if err != nil {
		t.Fatalf("produce over SASL_SSL: %v", err)
	}

	var out, dead, alerts []kafka.Message
	kafkatest.Eventually(t, 60*time.Second, "outputs over SASL_SSL", func() bool {
		p.alive(t)
		out, dead, alerts = env.ReadAll(t, enriched), env.ReadAll(t, dlq), env.ReadAll(t, alert)
		return len(out) >= 2 && len(dead) >= 1 && len(alerts) >= 1
	})
	keys := map[string]bool{}
	for _, m := range out {
		keys[string(m.Key)] = true
	}
	if !keys["sec-1"] || !keys["sec-2"] || len(out) != 2 {
		t.Errorf("enriched keys %v, want sec-1 and sec-2", keys)
	}
	if string(dead[0].Key) != "sec-bad" || headerOf(dead[0], stream.HeaderErrorClass) != "invalid_json" {
		t.Errorf("dead letter %q class %q", dead[0].Key, headerOf(dead[0], stream.HeaderErrorClass))
	}
	if string(alerts[0].Key) != "sec-1" {
		t.Errorf("alert for %q, want sec-1", alerts[0].Key)
	}
	// committed over SASL_SSL too
	kafkatest.Eventually(t, 30*time.Second, "offsets committed", func() bool {
		var sum int64
		for _, o := range env.Committed(t, vars["WIRETAG_GROUP_ID"], in) {
			sum += max(o, 0)
		}
		return sum == 3
	})
	metrics := httpGet(t, "http://"+vars["WIRETAG_HTTP_ADDR"]+"/metrics")
	p.stop(t, 20*time.Second)

	logs := p.logs()
	for _, want := range []string{`"sasl":"SCRAM-SHA-512"`, `"tls":true`} {
		if !strings.Contains(logs, want) {
			t.Errorf("start-up log lacks %s", want)
		}
	}
	assertNoSecret(t, "the logs of wiretag run (debug level)", logs, b.password)
	assertNoSecret(t, "/metrics", metrics, b.password)
	for _, args := range [][]string{{"config"}, {"config", "--json"}} {
		c := startWiretag(t, "wiretag-"+strings.Join(args, ""), vars, args...)
		if _, ok := c.waitExit(20 * time.Second); !ok || c.exitErr != nil {
			t.Fatalf("wiretag %v: exited=%v err=%v\n%s", args, ok, c.exitErr, c.logs())
		}
		o := c.logs()
		assertNoSecret(t, "wiretag "+strings.Join(args, " "), o, b.password)
		if !strings.Contains(o, "WIRETAG_SASL_PASSWORD=***") && !strings.Contains(o, `"WIRETAG_SASL_PASSWORD": "***"`) {
			t.Errorf("wiretag %v does not show the password as ***:\n%s", args, o)
		}
	}
}

// countingProxy forwards loopback TCP connections to target and counts them:
// the number of connection attempts a client makes.
type countingProxy struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	var mu sync.Mutex
	var open []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			up, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			open = append(open, c, up)
			mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// untrustedCA writes a freshly made CA certificate that signed nothing the
// broker has.
func untrustedCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the broker's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Misconfigured security makes `wiretag run` exit non-zero within seconds
// with a message that names the cause, after only a few connections.
func TestSecurityFailsFast(t *testing.T) {
	b := saslFromEnv(t)
	cases := []struct {
		name     string
		password string
		ca       string
		want     []string // in the error, case-insensitive
	}{
		{"wrong password", b.password + "-wrong", b.ca, []string{"SASL authentication failed", "WIRETAG_SASL_PASSWORD"}},
		{"untrusted CA", b.password, untrustedCA(t), []string{"certificate", "not trusted", "x509", "WIRETAG_TLS_CA_FILE"}},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			proxy := newCountingProxy(t, strings.Split(b.brokers, ",")[0])
			vars := b.vars(proxy.ln.Addr().String(), tc.password, tc.ca)
			vars["WIRETAG_HTTP_ADDR"] = freePort(t)
			vars["WIRETAG_GROUP_ID"] = "wt-sec-failfast"
			p := startWiretag(t, "wiretag-"+strings.ReplaceAll(tc.name, " ", "-"), vars, "run")
			took, exited := p.waitExit(60 * time.Second)
			conns := proxy.conns.Load()
			logs := p.logs()
			t.Logf("%s: exited=%v after %.2fs, %v, %d connection(s) to the broker", tc.name, exited, took.Seconds(), p.exitErr, conns)
			if !exited {
				t.Fatalf("wiretag run still retrying after 60s (%d connections):\n%s", conns, p.logTail(20))
			}
			if p.exitErr == nil {
				t.Errorf("wiretag run exited 0, want a failure")
			}
			if took > 15*time.Second {
				t.Errorf("took %s to give up; want seconds", took.Round(time.Millisecond))
			}
			if conns > 5 {
				t.Errorf("%d connections before giving up: a retry storm", conns)
			}
			var errLine string
			for _, l := range strings.Split(logs, "\n") {
				if strings.Contains(l, `"level":"error"`) {
					errLine = l
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(errLine), strings.ToLower(w)) {
					t.Errorf("error does not say %q: %s", w, errLine)
				}
			}
			if n := strings.Count(logs, "retrying"); n > 0 {
				t.Errorf("%d retry messages in the log", n)
			}
			assertNoSecret(t, "the logs", logs, b.password)
		})
	}
}

// The password never shows in `wiretag config`, text or JSON, valid or not.
// Needs no broker.
func TestSecurityConfigRedacts(t *testing.T) {
	const secret = "s3cret-Pa55word-for-redaction-test"
	for _, vars := range []map[string]string{
		{"WIRETAG_SASL_MECHANISM": "SCRAM-SHA-512", "WIRETAG_SASL_USERNAME": "wiretag", "WIRETAG_SASL_PASSWORD": secret, "WIRETAG_TLS_ENABLED": "true"},
		// invalid (no user): the error report must not echo the password either
		{"WIRETAG_SASL_MECHANISM": "SCRAM-SHA-512", "WIRETAG_SASL_PASSWORD": secret, "WIRETAG_BROKERS": "bad broker"},
	} {
		for _, args := range [][]string{{"config"}, {"config", "--json"}, {"run"}} {
			v := map[string]string{"WIRETAG_HTTP_ADDR": freePort(t), "WIRETAG_BROKERS": "127.0.0.1:1", "WIRETAG_LOG_LEVEL": "debug"}
			for k, x := range vars {
				v[k] = x
			}
			p := startWiretag(t, "wiretag-"+strings.Join(args, ""), v, args...)
			wait := 20 * time.Second
			if args[0] == "run" {
				wait = 3 * time.Second // a valid config keeps waiting for a broker: logs of 3 s are enough
			}
			if _, ok := p.waitExit(wait); !ok {
				if args[0] != "run" {
					t.Fatalf("wiretag %v did not exit", args)
				}
				p.cmd.Process.Kill()
				<-p.done
			}
			assertNoSecret(t, fmt.Sprintf("wiretag %v output (%d vars)", args, len(vars)), p.logs(), secret)
		}
	}
}
