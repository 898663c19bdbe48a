package kafkasource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// testPKI is a CA, a broker certificate for 127.0.0.1 and broker.test, and a client
// certificate, as PEM files.
type testPKI struct {
	dir                       string
	ca                        *x509.Certificate
	caKey                     *ecdsa.PrivateKey
	caFile, certFile, keyFile string // the CA, the client certificate and its key
	server                    tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	var err error
	p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	p.server = p.leaf(t, "broker", 2, x509.ExtKeyUsageServerAuth, "")
	p.leaf(t, "client", 3, x509.ExtKeyUsageClientAuth, "client")
	p.certFile, p.keyFile = filepath.Join(p.dir, "client.pem"), filepath.Join(p.dir, "client-key.pem")
	return p
}

// leaf issues a certificate; with name set it also writes name.pem and name-key.pem.
func (p *testPKI) leaf(t *testing.T, cn string, serial int64, usage x509.ExtKeyUsage, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"broker.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if name != "" {
		p.write(t, name+".pem", "CERTIFICATE", der)
		p.write(t, name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startSecureBroker starts kfake behind TLS (client certificates required when mtls)
// with one SASL user u/p of the given mechanism.
func startSecureBroker(t *testing.T, p *testPKI, mtls bool, mech string) []string {
	t.Helper()
	tc := &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if mtls {
		pool := x509.NewCertPool()
		pool.AddCert(p.ca)
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.TLS(tc), kfake.SeedTopics(2, "lb.entries")}
	if mech != "" {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(mech, "u", "p"))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// parseConfig parses flags into a Config over the defaults and validates it.
func parseConfig(args ...string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs, "")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestSecurityFlagsValidate(t *testing.T) {
	p := newTestPKI(t)
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	passFile := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(passFile, []byte("secret\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string // "" = valid
	}{
		{nil, ""},
		{[]string{"--kafka-tls"}, ""},
		{[]string{"--kafka-tls", "--kafka-tls-ca-file", p.caFile, "--kafka-tls-cert-file", p.certFile, "--kafka-tls-key-file", p.keyFile, "--kafka-tls-server-name", "broker.test"}, ""},
		{[]string{"--kafka-tls-ca-file", p.caFile}, "--kafka-tls-ca-file is set but TLS is off: add --kafka-tls"},
		{[]string{"--kafka-tls-insecure-skip-verify"}, "--kafka-tls-insecure-skip-verify is set but TLS is off"},
		{[]string{"--kafka-tls", "--kafka-tls-cert-file", p.certFile}, "without --kafka-tls-key-file"},
		{[]string{"--kafka-tls", "--kafka-tls-key-file", p.keyFile}, "--kafka-tls-key-file " + p.keyFile + " is set without --kafka-tls-cert-file"},
		{[]string{"--kafka-tls", "--kafka-tls-cert-file", p.keyFile, "--kafka-tls-key-file", p.certFile}, "--kafka-tls-cert-file " + p.keyFile},
		{[]string{"--kafka-tls", "--kafka-tls-ca-file", notPEM}, "no PEM certificate in it"},
		{[]string{"--kafka-tls", "--kafka-tls-ca-file", "/nonexistent/ca.pem"}, "--kafka-tls-ca-file: open /nonexistent/ca.pem"},
		{[]string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-user", "u", "--kafka-sasl-password", "p"}, ""},
		{[]string{"--kafka-sasl-mechanism", "scram-sha-512", "--kafka-sasl-user", "u", "--kafka-sasl-password-file", passFile}, ""},
		{[]string{"--kafka-sasl-mechanism", "GSSAPI", "--kafka-sasl-user", "u", "--kafka-sasl-password", "p"}, `--kafka-sasl-mechanism "GSSAPI" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`},
		{[]string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-password", "p"}, "needs --kafka-sasl-user"},
		{[]string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-user", "u"}, "needs a password"},
		{[]string{"--kafka-sasl-user", "u", "--kafka-sasl-password", "p"}, "without --kafka-sasl-mechanism"},
		{[]string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-user", "u", "--kafka-sasl-password", "p", "--kafka-sasl-password-file", passFile}, "both set"},
		{[]string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-user", "u", "--kafka-sasl-password-file", "/nonexistent/pass"}, "--kafka-sasl-password-file: open /nonexistent/pass"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseConfig(tc.args...)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Every client the package builds (admin, publisher, source) uses the TLS dialer and
// the SASL mechanism: against a broker that speaks only TLS and SASL, with the right
// options they work, and without them, or with a wrong password, CA or server name, they
// fail.
func TestSecurityAgainstTLSAndSASLBroker(t *testing.T) {
	p := newTestPKI(t)
	for _, mech := range []string{SASLPlain, SASLScramSHA256, SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			addrs := startSecureBroker(t, p, false, mech)
			good := []string{"--kafka", addrs[0], "--kafka-tls", "--kafka-tls-ca-file", p.caFile,
				"--kafka-sasl-mechanism", mech, "--kafka-sasl-user", "u", "--kafka-sasl-password", "p"}
			cfg, err := parseConfig(good...)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := EnsureTopics(ctx, cfg.Brokers, cfg, 2); err != nil {
				t.Fatalf("EnsureTopics over TLS and %s: %v", mech, err)
			}
			parts, err := Partitions(ctx, cfg)
			if err != nil || len(parts) != 2 {
				t.Fatalf("Partitions over TLS and %s: %v, %v", mech, parts, err)
			}
			pub, err := NewPublisher(cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			if err := pub.PublishMatch(ctx, MatchEvent{MatchID: 1, State: "live", TS: 1}); err != nil {
				t.Fatal(err)
			}
			if err := pub.Flush(ctx); err != nil {
				t.Fatalf("publish over TLS and %s: %v", mech, err)
			}
			src, err := New(cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			b, err := src.Poll(ctx)
			if err != nil || len(b.Matches) != 1 {
				t.Fatalf("poll over TLS and %s: %+v, %v", mech, b, err)
			}

			for _, bad := range []struct {
				name string
				args []string
			}{
				{"no TLS", []string{"--kafka", addrs[0], "--kafka-sasl-mechanism", mech, "--kafka-sasl-user", "u", "--kafka-sasl-password", "p"}},
				{"wrong password", []string{"--kafka", addrs[0], "--kafka-tls", "--kafka-tls-ca-file", p.caFile, "--kafka-sasl-mechanism", mech, "--kafka-sasl-user", "u", "--kafka-sasl-password", "nope"}},
				{"no SASL", []string{"--kafka", addrs[0], "--kafka-tls", "--kafka-tls-ca-file", p.caFile}},
				{"untrusted broker certificate", []string{"--kafka", addrs[0], "--kafka-tls", "--kafka-sasl-mechanism", mech, "--kafka-sasl-user", "u", "--kafka-sasl-password", "p"}},
				{"wrong server name", []string{"--kafka", addrs[0], "--kafka-tls", "--kafka-tls-ca-file", p.caFile, "--kafka-tls-server-name", "other.test", "--kafka-sasl-mechanism", mech, "--kafka-sasl-user", "u", "--kafka-sasl-password", "p"}},
			} {
				cfg, err := parseConfig(bad.args...)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if _, err := Partitions(ctx, cfg); err == nil {
					t.Errorf("%s: Partitions succeeded against a TLS+%s broker", bad.name, mech)
				}
				cancel()
			}
		})
	}
}

func TestSecurityMutualTLS(t *testing.T) {
	p := newTestPKI(t)
	addrs := startSecureBroker(t, p, true, "")
	with, err := parseConfig("--kafka", addrs[0], "--kafka-tls", "--kafka-tls-ca-file", p.caFile,
		"--kafka-tls-cert-file", p.certFile, "--kafka-tls-key-file", p.keyFile, "--kafka-tls-server-name", "broker.test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Partitions(ctx, with); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	without, err := parseConfig("--kafka", addrs[0], "--kafka-tls", "--kafka-tls-ca-file", p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	if _, err := Partitions(sctx, without); err == nil {
		t.Fatal("without a client certificate: Partitions succeeded against a broker that requires one")
	}
}
