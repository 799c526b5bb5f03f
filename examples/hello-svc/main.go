// Command hello-svc is goready's bundled example: a small stdlib-only HTTP service shaped the
// way goready expects a production service to be shaped.
//
//   - The version is injected at build time: go build -ldflags "-X main.Version=1.2.3".
//   - The public listener (--addr) serves the API and /healthz only.
//   - net/http/pprof is mounted on a separate admin listener (--admin) that defaults to
//     loopback, so profiles are reachable from the host (or a sidecar) but never from outside.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Version is set by the linker: -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "public listen address")
	admin := flag.String("admin", "127.0.0.1:6060", "admin listen address for /debug/pprof (keep it on loopback)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(Version)
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *admin); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx is cancelled, then shuts both listeners down gracefully.
func run(ctx context.Context, addr, admin string) error {
	publicLn, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	adminLn, err := net.Listen("tcp", admin)
	if err != nil {
		publicLn.Close()
		return err
	}
	return serve(ctx, publicLn, adminLn)
}

// serve runs the public and admin servers on listeners the caller opened.
func serve(ctx context.Context, publicLn, adminLn net.Listener) error {
	public := &http.Server{Handler: publicMux(), ReadHeaderTimeout: 5 * time.Second}
	private := &http.Server{Handler: adminMux(), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("hello-svc %s: public on %s, admin on %s", Version, publicLn.Addr(), adminLn.Addr())

	errs := make(chan error, 2)
	go func() { errs <- public.Serve(publicLn) }()
	go func() { errs <- private.Serve(adminLn) }()

	select {
	case <-ctx.Done():
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(public.Shutdown(shutdownCtx), private.Shutdown(shutdownCtx))
}

// publicMux is what the world sees: the API and a health check, never pprof.
func publicMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.URL.Query().Get("name"))
		if name == "" {
			name = "world"
		}
		fmt.Fprintf(w, "hello, %s\n", name)
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, Version)
	})
	// /slow stands in for a request that takes a while (a report, an upstream call): on
	// SIGTERM, Shutdown lets it finish, which `goready probe --drain 'GET /slow'` checks.
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(slowFor(r)):
			fmt.Fprintln(w, "done")
		case <-r.Context().Done():
		}
	})
	return mux
}

// slowFor is how long /slow takes: ?ms=N, else one second, at most ten.
func slowFor(r *http.Request) time.Duration {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if err != nil || ms < 0 {
		ms = 1000
	}
	return time.Duration(min(ms, 10000)) * time.Millisecond
}

// adminMux mounts net/http/pprof explicitly, on its own mux, for the admin listener only.
func adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
