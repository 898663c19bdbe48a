package main

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestListenAdmin(t *testing.T) {
	if ln, err := listenAdmin(""); ln != nil || err != nil {
		t.Fatalf(`listenAdmin("") = %v, %v; want off`, ln, err)
	}
	if _, err := listenAdmin("8081"); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--admin-http") {
		t.Fatalf(`listenAdmin("8081") = %v; want a usage error naming --admin-http`, err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, err := listenAdmin(taken.Addr().String()); err == nil || !strings.Contains(err.Error(), "pick another with --admin-http") {
		t.Fatalf("listenAdmin on a taken port = %v", err)
	}
	ln, err := listenAdmin("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}
