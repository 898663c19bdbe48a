package membership

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// Role is what a node does in the cluster.
type Role uint8

// The roles. RoleUnknown is the zero value, and what a node whose metadata cannot be read
// (a newer format) is seen as: nobody assigns it work.
const (
	RoleUnknown Role = iota
	RoleCoordinator
	RoleWorker
	RoleAPI
	roleEnd
)

var roleNames = [...]string{"unknown", "coordinator", "worker", "api"}

func (r Role) String() string {
	if r < roleEnd {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// ParseRole parses a role's name.
func ParseRole(s string) (Role, error) {
	for r := RoleCoordinator; r < roleEnd; r++ {
		if roleNames[r] == s {
			return r, nil
		}
	}
	return RoleUnknown, fmt.Errorf("role %q: must be coordinator, worker or api", s)
}

// Meta is what a node tells the cluster about itself, gossiped with its liveness.
type Meta struct {
	Role     Role
	HTTPAddr string // advertised host:port of its HTTP server (status, API, worker reports); "" if none
	Capacity uint32 // a worker's relative weight in the partition assignment (>= 1 for a worker)
	Version  string // build version, for mixed-version roll-outs
}

const metaFormat = 1 // first byte of the encoding

// Encode is Meta's wire form: format byte, role byte, uvarint capacity, then the HTTP
// address and the version, each a uvarint length and its bytes. It must fit memberlist's
// limit on node metadata (memberlist.MetaMaxSize, 512 bytes).
func (m Meta) Encode() ([]byte, error) {
	if m.Role == RoleUnknown || m.Role >= roleEnd {
		return nil, fmt.Errorf("metadata: role %v: must be coordinator, worker or api", m.Role)
	}
	b := make([]byte, 0, 2+binary.MaxVarintLen32+2*binary.MaxVarintLen16+len(m.HTTPAddr)+len(m.Version))
	b = append(b, metaFormat, byte(m.Role))
	b = binary.AppendUvarint(b, uint64(m.Capacity))
	b = binary.AppendUvarint(b, uint64(len(m.HTTPAddr)))
	b = append(b, m.HTTPAddr...)
	b = binary.AppendUvarint(b, uint64(len(m.Version)))
	b = append(b, m.Version...)
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("metadata: %d bytes encoded (HTTP address %d, version %d bytes), over memberlist's limit of %d",
			len(b), len(m.HTTPAddr), len(m.Version), memberlist.MetaMaxSize)
	}
	return b, nil
}

var errShortMeta = errors.New("truncated")

// DecodeMeta reads Encode's form.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	if len(b) < 2 {
		return m, fmt.Errorf("metadata of %d bytes: %w", len(b), errShortMeta)
	}
	if b[0] != metaFormat {
		return m, fmt.Errorf("metadata format %d: this build reads format %d", b[0], metaFormat)
	}
	if m.Role = Role(b[1]); m.Role == RoleUnknown || m.Role >= roleEnd {
		return Meta{}, fmt.Errorf("metadata: unknown role %d", b[1])
	}
	b = b[2:]
	c, n := binary.Uvarint(b)
	if n <= 0 || c > 1<<32-1 {
		return Meta{}, fmt.Errorf("metadata: bad capacity")
	}
	m.Capacity, b = uint32(c), b[n:]
	str := func(what string) (string, error) {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return "", fmt.Errorf("metadata: %s: %w", what, errShortMeta)
		}
		s := string(b[n : n+int(l)])
		b = b[n+int(l):]
		return s, nil
	}
	var err error
	if m.HTTPAddr, err = str("HTTP address"); err != nil {
		return Meta{}, err
	}
	if m.Version, err = str("version"); err != nil {
		return Meta{}, err
	}
	if len(b) != 0 {
		return Meta{}, fmt.Errorf("metadata: %d bytes after the version", len(b))
	}
	return m, nil
}
