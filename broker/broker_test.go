package broker_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/broker"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/natstest"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/roomlog/jetstream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens a broker, closed when t ends.
func open(t *testing.T, cfg broker.Config) *broker.Broker {
	t.Helper()
	b, err := broker.Open(t.Context(), cfg, slog.New(slog.NewTextHandler(&testkit.Buffer{}, nil)))
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(b.Close)
	return b
}

// secret is b.Secret(name), which must not fail.
func secret(t *testing.T, b *broker.Broker, name string) []byte {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := b.Secret(c, name)
	if err != nil {
		t.Fatalf("Secret(%q): %v", name, err)
	}
	if len(s) != broker.SecretSize {
		t.Fatalf("Secret(%q) has %d bytes, want %d", name, len(s), broker.SecretSize)
	}
	return s
}

// TestEmbedded: alone, the embedded server listens on no port, keeps
// JetStream under <data_dir>/nats, and its secrets survive a restart on
// the same directory; callers at once all get the one secret.
func TestEmbedded(t *testing.T) {
	dir := t.TempDir()
	cfg := broker.Config{Mode: broker.Embedded, Name: "n1", DataDir: dir}
	b := open(t, cfg)
	if a := broker.ClientAddr(b); a != nil {
		t.Errorf("the embedded server listens on %v, want no port", a)
	}
	if b.Replicas() != 1 {
		t.Errorf("replicas %d alone, want 1", b.Replicas())
	}
	if !b.Alone() {
		t.Error("an embedded server on no port is not Alone: its rooms would send live messages nobody else can hear")
	}
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Go(func() { got[i] = secret(t, b, "resume") })
	}
	wg.Wait()
	for i := range got {
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("concurrent callers got different secrets: %x and %x", got[0], got[i])
		}
	}
	if other := secret(t, b, "other"); bytes.Equal(other, got[0]) {
		t.Errorf("two names gave one secret")
	}
	if _, err := os.Stat(filepath.Join(dir, "nats", "jetstream")); err != nil {
		t.Errorf("no JetStream store under the data directory: %v", err)
	}
	b.Close()
	b.Close()

	again := open(t, cfg)
	if s := secret(t, again, "resume"); !bytes.Equal(s, got[0]) {
		t.Fatalf("after a restart the secret is %x, was %x", s, got[0])
	}
}

// TestNATS: mode nats connects by URL to a NATS server of one's own.
func TestNATS(t *testing.T) {
	s := natstest.Start(t, natstest.Options{Port: -1})
	b := open(t, broker.Config{Mode: broker.NATS, Name: "n1", URL: s.ClientURL()})
	secret(t, b, "resume")
	if b.Alone() {
		t.Error("a broker connected to NATS by URL is Alone: other servers may share it")
	}
	if b.Conn().ConnectedUrl() != s.ClientURL() {
		t.Errorf("connected to %q, want %q", b.Conn().ConnectedUrl(), s.ClientURL())
	}
}

// TestErrors: what cannot start says what, in one line, and leaves
// nothing running (goleak checks).
func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  broker.Config
		want string
	}{
		{"bad mode", broker.Config{Mode: "memory"}, "memory needs no broker"},
		{"no data dir", broker.Config{Mode: broker.Embedded}, "data directory"},
		{"nats unreachable", broker.Config{Mode: broker.NATS, URL: "nats://127.0.0.1:" + fmt.Sprint(testkit.FreeTCPPort(t))}, "connect to nats://127.0.0.1:"},
		{"route TLS files missing", broker.Config{Mode: broker.Embedded, DataDir: t.TempDir(), Cluster: broker.Cluster{Listen: "127.0.0.1:0", Name: "c"},
			TLS: broker.TLS{Cert: "/nonexistent/cert.pem", Key: "/nonexistent/key.pem"}}, "route TLS"},
		{"cluster without a majority", broker.Config{Mode: broker.Embedded, Name: "lonely", DataDir: t.TempDir(), Ready: time.Second,
			Cluster: broker.Cluster{Listen: fmt.Sprintf("127.0.0.1:%d", testkit.FreeTCPPort(t)), Name: "c",
				Routes: []string{fmt.Sprintf("nats://127.0.0.1:%d", testkit.FreeTCPPort(t)), fmt.Sprintf("nats://127.0.0.1:%d", testkit.FreeTCPPort(t))}}},
			"JetStream not ready after 1s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := broker.Open(t.Context(), tt.cfg, slog.New(slog.NewTextHandler(&testkit.Buffer{}, nil)))
			if err == nil {
				b.Close()
				t.Fatal("opened")
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, "broker: ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line naming %q", msg, tt.want)
			}
		})
	}
}

// TestCluster: three embedded servers with the same routes (each its own
// among them), route credentials and route TLS both ways form one
// JetStream: three copies by default, one secret for all three though they
// ask at once, and a room appended to on one node is read, and waited on,
// on another.
func TestCluster(t *testing.T) {
	const n = 3
	tlsFiles := routeTLS(t)
	routes := make([]string, n)
	listen := make([]string, n)
	for i := range n {
		listen[i] = fmt.Sprintf("127.0.0.1:%d", testkit.FreeTCPPort(t))
		routes[i] = "nats://" + listen[i]
	}
	nodes := make([]*broker.Broker, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			nodes[i], errs[i] = broker.Open(t.Context(), broker.Config{
				Mode: broker.Embedded, Name: fmt.Sprintf("node%d", i), DataDir: t.TempDir(),
				Cluster: broker.Cluster{Listen: listen[i], Name: "udpchat", Routes: routes, User: "route", Password: "s3cret"},
				TLS:     tlsFiles,
			}, slog.New(slog.NewTextHandler(&testkit.Buffer{}, nil)))
		})
	}
	wg.Wait()
	for i, b := range nodes {
		if b != nil {
			t.Cleanup(b.Close)
		}
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
	}
	t.Logf("3 nodes ready in %v", time.Since(start))
	for i, b := range nodes {
		if b.Alone() {
			t.Errorf("node %d of a cluster is Alone: the others would not hear of its appends", i)
		}
		if b.Replicas() != 3 {
			t.Errorf("node %d: %d replicas, want 3", i, b.Replicas())
		}
	}

	// A node without the routes' TLS is not let in: it never sees the
	// cluster's JetStream.
	_, err := broker.Open(t.Context(), broker.Config{
		Mode: broker.Embedded, Name: "intruder", DataDir: t.TempDir(), Ready: 2 * time.Second,
		Cluster: broker.Cluster{Listen: fmt.Sprintf("127.0.0.1:%d", testkit.FreeTCPPort(t)), Name: "udpchat", Routes: routes, User: "route", Password: "s3cret"},
	}, slog.New(slog.NewTextHandler(&testkit.Buffer{}, nil)))
	if err == nil || !strings.Contains(err.Error(), "JetStream not ready") {
		t.Fatalf("a node without route TLS: %v, want JetStream never ready", err)
	}

	secrets := make([][]byte, n)
	for i, b := range nodes {
		wg.Go(func() { secrets[i] = secret(t, b, "resume") })
	}
	wg.Wait()
	for i := range secrets {
		if !bytes.Equal(secrets[i], secrets[0]) {
			t.Fatalf("nodes 0 and %d have different secrets", i)
		}
	}

	logs := make([]*jetstream.Log, n)
	for i, b := range nodes {
		l, err := jetstream.Open(t.Context(), b.JetStream(), core.RoomLogConfig{}, jetstream.Options{Replicas: b.Replicas()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		logs[i] = l
	}
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var bounds core.LogBounds
	bounds, err = logs[2].Bounds(c, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- logs[2].Wait(c, "lobby", bounds.Epoch, bounds.Next-1) }()
	m := &core.Message{Kind: core.KindChat, From: "alice", Text: "hello from node 0", Time: time.Now(), Origin: 42}
	e, err := logs[0].Append(c, "lobby", m)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("Wait on node 2: %v", err)
	}
	for i, l := range logs {
		got, b, err := l.Read(c, "lobby", e.Offset, 1, nil)
		if err != nil || b.Epoch != bounds.Epoch {
			t.Fatalf("node %d: Read %v, bounds %+v; want epoch %d", i, err, b, bounds.Epoch)
		}
		// A replica may serve a direct get before it has the entry: read
		// until it does.
		for len(got) == 0 && c.Err() == nil {
			got, _, err = l.Read(c, "lobby", e.Offset, 1, nil)
		}
		if len(got) != 1 || got[0].Message.Text != m.Text || got[0].Message.Origin != 42 {
			t.Fatalf("node %d read %+v, %v", i, got, err)
		}
	}
}

// routeTLS writes a CA and a certificate for 127.0.0.1 it signed, for
// server and client use (a route is both), and returns the files.
func routeTLS(t *testing.T) broker.TLS {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "udpchat test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "udpchat route"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	files := broker.TLS{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "route.pem"), Key: filepath.Join(dir, "route-key.pem")}
	for path, block := range map[string]*pem.Block{
		files.CA:   {Type: "CERTIFICATE", Bytes: caDER},
		files.Cert: {Type: "CERTIFICATE", Bytes: leafDER},
		files.Key:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return files
}
