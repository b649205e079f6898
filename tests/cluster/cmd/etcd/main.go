// Command etcd runs a single-member etcd in process via
// go.etcd.io/etcd/server/v3/embed, for tests that need a real etcd but
// cannot download the release binary. It listens on 127.0.0.1 only.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	os.Exit(run())
}

func run() int {
	dataDir := flag.String("data-dir", "", "directory for etcd data (required)")
	clientPort := flag.Int("client-port", 2379, "client port on 127.0.0.1")
	peerPort := flag.Int("peer-port", 0, "peer port on 127.0.0.1 (0 picks a free one)")
	name := flag.String("name", "weighbridge", "member name")
	noFsync := flag.Bool("unsafe-no-fsync", true, "skip fsync; fine for throwaway test data")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	readyTimeout := flag.Duration("ready-timeout", 60*time.Second, "how long to wait for the server to become ready")
	flag.Parse()

	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "etcd: --data-dir is required")
		return 2
	}
	if *peerPort == 0 {
		p, err := freePort()
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcd: picking a peer port: %v\n", err)
			return 1
		}
		*peerPort = p
	}

	cfg := embed.NewConfig()
	cfg.Name = *name
	cfg.Dir = *dataDir
	cfg.UnsafeNoFsync = *noFsync
	cfg.LogLevel = *logLevel
	cfg.LogOutputs = []string{"stderr"}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(*clientPort))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(*peerPort))}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		fmt.Fprintf(os.Stderr, "etcd: creating data dir: %v\n", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd: start: %v\n", err)
		return 1
	}
	defer e.Close()

	select {
	case <-e.Server.ReadyNotify():
		fmt.Printf("etcd ready: %s\n", clientURL.String())
	case <-time.After(*readyTimeout):
		fmt.Fprintf(os.Stderr, "etcd: not ready after %s\n", *readyTimeout)
		e.Server.Stop()
		return 1
	case <-ctx.Done():
		return 0
	}

	select {
	case <-ctx.Done():
		fmt.Println("etcd: signal received, shutting down")
		return 0
	case err := <-e.Err():
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcd: %v\n", err)
			return 1
		}
		return 0
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
