package kafkasource

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms Security.SASLMechanism accepts.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

var saslMechanisms = []string{SASLPlain, SASLScramSHA256, SASLScramSHA512}

// Security is how every client of the package (source, publisher, admin) reaches the
// brokers: TLS, SASL, both or neither. It is part of Config (its flags are Config's).
type Security struct {
	// TLS turns TLS on. The other TLS fields need it.
	TLS bool
	// TLSCAFile is a PEM file of the CAs to trust (default: the system's).
	TLSCAFile string
	// TLSCertFile and TLSKeyFile are a PEM client certificate and its key (mutual TLS);
	// both or neither.
	TLSCertFile, TLSKeyFile string
	// TLSServerName overrides the name checked in the brokers' certificates (default:
	// the host of each broker address).
	TLSServerName string
	// TLSInsecureSkipVerify trusts any broker certificate: for tests only.
	TLSInsecureSkipVerify bool

	// SASLMechanism is "" (no SASL), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SASLMechanism string
	SASLUser      string
	// SASLPassword, or SASLPasswordFile (a file whose first line is the password, so it
	// stays out of the process list); not both.
	SASLPassword     string
	SASLPasswordFile string
}

// registerFlags registers the security flags under prefix+"kafka-".
func (s *Security) registerFlags(fs *flag.FlagSet, prefix string) {
	p := prefix + "kafka-"
	fs.BoolVar(&s.TLS, p+"tls", false, "connect to the Kafka brokers over TLS")
	fs.StringVar(&s.TLSCAFile, p+"tls-ca-file", "", "PEM file of the CAs that sign the brokers' certificates (default: the system's; needs --"+p+"tls)")
	fs.StringVar(&s.TLSCertFile, p+"tls-cert-file", "", "PEM client certificate for mutual TLS (with --"+p+"tls-key-file)")
	fs.StringVar(&s.TLSKeyFile, p+"tls-key-file", "", "PEM private key of --"+p+"tls-cert-file")
	fs.StringVar(&s.TLSServerName, p+"tls-server-name", "", "name to verify in the brokers' certificates (default: each broker's host)")
	fs.BoolVar(&s.TLSInsecureSkipVerify, p+"tls-insecure-skip-verify", false, "accept any broker certificate (tests only: anyone on the path can read and change the traffic)")
	fs.StringVar(&s.SASLMechanism, p+"sasl-mechanism", "", "SASL mechanism: "+strings.Join(saslMechanisms, ", ")+" (default: no SASL)")
	fs.StringVar(&s.SASLUser, p+"sasl-user", "", "SASL user name")
	fs.StringVar(&s.SASLPassword, p+"sasl-password", "", "SASL password (visible in the process list: prefer --"+p+"sasl-password-file)")
	fs.StringVar(&s.SASLPasswordFile, p+"sasl-password-file", "", "file whose first line is the SASL password")
}

// validate reports the first invalid security setting, naming its flag; it reads the
// files named, so a missing or unparsable one is reported before any connection.
func (s *Security) validate() error {
	_, err := s.clientOpts()
	return err
}

// clientOpts returns the franz-go options that apply s: a TLS dialer and a SASL
// mechanism. It reads the files s names.
func (s *Security) clientOpts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	tc, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	m, err := s.mechanism()
	if err != nil {
		return nil, err
	}
	if m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func (s *Security) tlsConfig() (*tls.Config, error) {
	if !s.TLS {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"kafka-tls-ca-file", s.TLSCAFile != ""}, {"kafka-tls-cert-file", s.TLSCertFile != ""},
			{"kafka-tls-key-file", s.TLSKeyFile != ""}, {"kafka-tls-server-name", s.TLSServerName != ""},
			{"kafka-tls-insecure-skip-verify", s.TLSInsecureSkipVerify},
		} {
			if f.set {
				return nil, fmt.Errorf("--%s is set but TLS is off: add --kafka-tls", f.name)
			}
		}
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.TLSServerName, InsecureSkipVerify: s.TLSInsecureSkipVerify}
	if s.TLSCAFile != "" {
		pem, err := os.ReadFile(s.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("--kafka-tls-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--kafka-tls-ca-file %s: no PEM certificate in it", s.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	switch {
	case s.TLSCertFile != "" && s.TLSKeyFile == "":
		return nil, fmt.Errorf("--kafka-tls-cert-file %s is set without --kafka-tls-key-file: a client certificate needs its key", s.TLSCertFile)
	case s.TLSCertFile == "" && s.TLSKeyFile != "":
		return nil, fmt.Errorf("--kafka-tls-key-file %s is set without --kafka-tls-cert-file", s.TLSKeyFile)
	case s.TLSCertFile != "":
		cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--kafka-tls-cert-file %s, --kafka-tls-key-file %s: %w", s.TLSCertFile, s.TLSKeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (s *Security) mechanism() (sasl.Mechanism, error) {
	if s.SASLMechanism == "" {
		if s.SASLUser != "" || s.SASLPassword != "" || s.SASLPasswordFile != "" {
			return nil, errors.New("a SASL user or password is set without --kafka-sasl-mechanism (" + strings.Join(saslMechanisms, ", ") + ")")
		}
		return nil, nil
	}
	mech := strings.ToUpper(s.SASLMechanism)
	if !slices.Contains(saslMechanisms, mech) {
		return nil, fmt.Errorf("--kafka-sasl-mechanism %q is not one of %s", s.SASLMechanism, strings.Join(saslMechanisms, ", "))
	}
	if s.SASLUser == "" {
		return nil, fmt.Errorf("--kafka-sasl-mechanism %s needs --kafka-sasl-user", mech)
	}
	pass := s.SASLPassword
	switch {
	case s.SASLPassword != "" && s.SASLPasswordFile != "":
		return nil, errors.New("--kafka-sasl-password and --kafka-sasl-password-file are both set: give one")
	case s.SASLPasswordFile != "":
		b, err := os.ReadFile(s.SASLPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--kafka-sasl-password-file: %w", err)
		}
		pass, _, _ = strings.Cut(string(b), "\n")
		pass = strings.TrimSuffix(pass, "\r")
	}
	if pass == "" {
		return nil, fmt.Errorf("--kafka-sasl-mechanism %s needs a password (--kafka-sasl-password-file or --kafka-sasl-password)", mech)
	}
	switch mech {
	case SASLPlain:
		return plain.Auth{User: s.SASLUser, Pass: pass}.AsMechanism(), nil
	case SASLScramSHA256:
		return scram.Auth{User: s.SASLUser, Pass: pass}.AsSha256Mechanism(), nil
	default:
		return scram.Auth{User: s.SASLUser, Pass: pass}.AsSha512Mechanism(), nil
	}
}
