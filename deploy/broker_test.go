package deploy_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/wiretag/wiretag/config"
	"github.com/wiretag/wiretag/processor/kafkaio"
	"github.com/wiretag/wiretag/processor/rules"
	"github.com/wiretag/wiretag/processor/service"
)

// runDeployedEnv runs the processor (service.Run, what `wiretag run` runs)
// with a deployment's environment against a real broker: it creates the
// topics the way the deployment expects them, feeds it the sample stories,
// waits until it is ready and has committed, and returns its /metrics scrape.
func runDeployedEnv(t *testing.T, env map[string]string, mounts map[string]string, partitions map[string]int) exported {
	t.Helper()
	// A group of its own, so reruns on a kept broker start clean.
	env["WIRETAG_GROUP_ID"] = fmt.Sprintf("%s-deploy-test-%06x", env["WIRETAG_GROUP_ID"], rand.Uint32()&0xffffff)
	env["WIRETAG_HTTP_ADDR"] = "127.0.0.1:0"
	cfg, err := validateEnv(t, env, mounts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, err := kafkaio.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := kafkaio.WaitForBroker(ctx, client); err != nil {
		t.Fatal(err)
	}
	for topic, n := range partitions {
		if err := kafkaio.CreateTopics(ctx, client, n, 1, topic); err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}
	samples, err := config.Samples()
	if err != nil {
		t.Fatal(err)
	}
	w, err := kafkaio.NewWriter(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]kafka.Message, len(samples))
	for i, s := range samples {
		msgs[i] = kafka.Message{Topic: cfg.InputTopic, Key: []byte(s.ID), Value: s.JSON}
	}
	msgs = append(msgs, kafka.Message{Topic: cfg.InputTopic, Key: []byte("poison"), Value: []byte(`{"id": "poison", "body": "unterminated`)})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		// New topics take a moment to have leaders.
		if err = w.WriteMessages(ctx, msgs...); err == nil || time.Now().After(deadline) {
			break
		}
	}
	_ = w.Close()
	if err != nil {
		t.Fatalf("produce the samples: %v", err)
	}

	addr := make(chan net.Addr, 1)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	go func() {
		done <- service.Run(runCtx, cfg, "deploy-test", log, service.Hooks{HTTPStarted: func(a net.Addr) { addr <- a }})
	}()
	defer func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("service.Run: %v", err)
			}
		case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
			t.Error("no shutdown within the shutdown timeout")
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("service.Run: %v", err)
	case <-ctx.Done():
		t.Fatal("the HTTP server never started")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for {
		code, _ := get("/readyz")
		_, metrics := get("/metrics")
		if code == http.StatusOK && strings.Contains(metrics, "\nwiretag_commits_total ") && !strings.Contains(metrics, "\nwiretag_commits_total 0\n") {
			exp, err := parseExposition(strings.NewReader(metrics))
			if err != nil {
				t.Fatal(err)
			}
			return exp
		}
		if ctx.Err() != nil {
			_, why := get("/readyz")
			t.Fatalf("not ready and committed within 2 minutes: /readyz says %q", why)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The compose stack's wiretag environment and topic layout work against a
// real Kafka (its brokers replaced by the test broker's). Runs when
// WIRETAG_TEST_BROKERS names one, e.g. deploy/local-kafka's.
func TestComposeEnvAgainstRealBroker(t *testing.T) {
	brokers := os.Getenv("WIRETAG_TEST_BROKERS")
	if brokers == "" {
		t.Skip("WIRETAG_TEST_BROKERS is not set (deploy/local-kafka/kafka.sh start plain; eval \"$(deploy/local-kafka/kafka.sh env)\")")
	}
	c := loadCompose(t, readFile(t, composeFile))
	wt := c.Services["wiretag"]
	env := map[string]string{}
	for k, v := range wt.Environment {
		env[k] = v
	}
	env["WIRETAG_BROKERS"] = brokers
	exp := runDeployedEnv(t, env, composeMounts(t, wt), composeTopics(t, c))
	checkAlertMetrics(t, exp)
}

// The example overlay's security settings (SASL/SCRAM over TLS with the CA
// file from the Secret) work against a real SASL_SSL broker. Runs when the
// WIRETAG_TEST_SASL_* variables name one (deploy/local-kafka's sasl mode).
func TestOverlaySecurityAgainstRealBroker(t *testing.T) {
	brokers, mech := os.Getenv("WIRETAG_TEST_SASL_BROKERS"), os.Getenv("WIRETAG_TEST_SASL_MECHANISM")
	if brokers == "" {
		t.Skip("WIRETAG_TEST_SASL_BROKERS is not set (deploy/local-kafka/kafka.sh start sasl; eval \"$(deploy/local-kafka/kafka.sh env)\")")
	}
	_, overlay := deployments(t)
	env := containerEnv(t, overlay)
	if env["WIRETAG_SASL_MECHANISM"] != mech {
		t.Skipf("the overlay uses %s, the test broker %s", env["WIRETAG_SASL_MECHANISM"], mech)
	}
	pw, err := os.ReadFile(os.Getenv("WIRETAG_TEST_SASL_PASSWORD_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	env["WIRETAG_BROKERS"] = brokers
	env["WIRETAG_SASL_USERNAME"] = os.Getenv("WIRETAG_TEST_SASL_USER")
	env["WIRETAG_SASL_PASSWORD"] = strings.TrimSpace(string(pw))
	// The Secret's ca.crt is the test broker's CA.
	secretDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(secretDir, "ca.crt"), readFile(t, os.Getenv("WIRETAG_TEST_TLS_CA")), 0o600); err != nil {
		t.Fatal(err)
	}
	mounts := map[string]string{
		mountPath(t, overlay, "config"):       filepath.Join(baseDir, "config"),
		mountPath(t, overlay, "kafka-secret"): secretDir,
	}
	rs, err := rules.Parse("rules.yaml", readFile(t, filepath.Join(baseDir, "config", "rules.yaml")), nil)
	if err != nil {
		t.Fatal(err)
	}
	topics := map[string]int{env["WIRETAG_INPUT_TOPIC"]: 3, env["WIRETAG_ENRICHED_TOPIC"]: 3, env["WIRETAG_DEAD_LETTER_TOPIC"]: 1}
	for _, a := range rs.Topics() {
		topics[a] = 1
	}
	runDeployedEnv(t, env, mounts, topics)
}

// checkAlertMetrics checks the alert rules' expressions against a scrape of a
// processor that ran against a real broker.
func checkAlertMetrics(t *testing.T, exp exported) {
	t.Helper()
	var rf ruleFile
	if err := yamlDecodeStrict(readFile(t, alertsFile), &rf); err != nil {
		t.Fatal(err)
	}
	c := newExprChecker(exp)
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			e, problems := c.check(r.Expr)
			if r.Record != "" && e != nil {
				c.recorded[r.Record] = outputLabels(e)
			}
			for _, p := range problems {
				// Values seen in memory (dead-letter reasons, alert rules) need not all
				// occur here; names and labels must.
				if !strings.Contains(p, "never has the value") {
					t.Errorf("%s%s: %s", r.Alert, r.Record, p)
				}
			}
		}
	}
}
