package aerospikesink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "aerospike"}, DNSNames: []string{"aerospike"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestTLSAndCredentials: the TLS and credential flags reach the client's policy, and a
// bad file is an error naming it.
func TestTLSAndCredentials(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	c := DefaultConfig()
	c.Hosts, c.User, c.Password = "db1:4333", "lb", "secret"
	c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile, c.TLSServerName = cert, cert, key, "aerospike"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := c.clientPolicy()
	if err != nil {
		t.Fatal(err)
	}
	if p.User != "lb" || p.Password != "secret" || p.TlsConfig == nil || p.TlsConfig.RootCAs == nil ||
		len(p.TlsConfig.Certificates) != 1 || p.TlsConfig.ServerName != "aerospike" || p.Timeout != c.ConnectTimeout {
		t.Fatalf("client policy %+v", p)
	}
	hosts, _ := c.hosts()
	if hosts[0].TLSName != "aerospike" || hosts[0].Port != 4333 {
		t.Fatalf("host %+v", hosts[0])
	}
	// The password may come from the environment.
	t.Setenv("AEROSPIKE_PASSWORD", "fromenv")
	c.Password = ""
	if p, _ := c.clientPolicy(); p.Password != "fromenv" {
		t.Fatalf("password %q, want the environment's", p.Password)
	}
	// Without TLS flags: no TLS.
	plain := DefaultConfig()
	if p, _ := plain.clientPolicy(); p.TlsConfig != nil {
		t.Fatal("TLS on without a TLS flag")
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.TLSCAFile = filepath.Join(dir, "missing.pem") }, "missing.pem"},
		{func(c *Config) { c.TLSCAFile = key }, "holds no PEM certificate"},
		{func(c *Config) { c.TLSKeyFile = cert }, "cert.pem"},
	} {
		c := c
		tc.mod(&c)
		if _, err := c.clientPolicy(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
	}
}
