package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
)

func TestHealthz(t *testing.T) {
	srv := httptest.NewServer(publicMux())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
}

func TestSlowTakesWhatItIsAsked(t *testing.T) {
	srv := httptest.NewServer(publicMux())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/slow?ms=10")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "done" {
		t.Fatalf("slow: %d %q", resp.StatusCode, body)
	}
}

func TestPprofNotOnPublicMux(t *testing.T) {
	srv := httptest.NewServer(publicMux())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("public /debug/pprof/ answered %d, want 404", resp.StatusCode)
	}
}

// TestServe runs the real service for `goready probe --go-test`: goready passes the listen
// addresses in GOREADY_ADDR and GOREADY_ADMIN_ADDR and stops the test binary with SIGTERM.
// Under a plain `go test` the variables are unset and the test skips itself.
func TestServe(t *testing.T) {
	addr, admin := os.Getenv("GOREADY_ADDR"), os.Getenv("GOREADY_ADMIN_ADDR")
	if addr == "" || admin == "" {
		t.Skip("GOREADY_ADDR/GOREADY_ADMIN_ADDR not set: run under goready probe --go-test")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	publicLn, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", admin)
	if err != nil {
		t.Fatal(err)
	}
	if err := serve(ctx, publicLn, adminLn); err != nil {
		t.Fatal(err)
	}
}
