// Command precis-ferretdb runs FerretDB v1 (a MongoDB wire-protocol server)
// with its SQLite backend, for precis's tests and the local demo.
//
// It exists because the stock FerretDB v1 command, installed from the module
// proxy, panics at start: it wants a generated version file that the module
// download does not carry. Embedding the library package avoids that check.
//
// Usage:
//
//	precis-ferretdb -listen 127.0.0.1:27117 -data-dir var/mongo [-log-level warn]
//
// The data directory must exist; one <database>.sqlite file is kept per
// database. The process runs in the foreground until SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// pinnedVersion is the FerretDB release this program is built against; it
// must match go.mod. scripts/bootstrap compares it with `-version`.
const pinnedVersion = "v1.24.2"

func main() {
	listen := flag.String("listen", "127.0.0.1:27117", "TCP address to listen on")
	dataDir := flag.String("data-dir", "", "existing directory for the SQLite files (required)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	showVersion := flag.Bool("version", false, "print the embedded FerretDB version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Println("precis-ferretdb ferretdb/" + pinnedVersion)
		return
	}
	if err := run(*listen, *dataDir, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "precis-ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, dataDir, logLevel string) error {
	if dataDir == "" {
		return fmt.Errorf("-data-dir is required")
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("-data-dir %q: %w", dataDir, err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return fmt.Errorf("-data-dir %q is not an existing directory", dataDir)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(logLevel))); err != nil {
		return fmt.Errorf("-log-level %q: want debug, info, warn or error", logLevel)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// The SQLite URL must name a directory and end in '/'.
	db, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logger.Info("precis-ferretdb listening", "addr", listen, "data", abs, "ferretdb", pinnedVersion)
	return db.Run(ctx)
}
