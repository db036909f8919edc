// Command precis-ferretdb runs FerretDB v1 (a MongoDB wire-protocol server)
// on its PostgreSQL backend, for precis's tests, benchmarks and the local
// demo. scripts/services starts the PostgreSQL server and creates the
// database first; this program only speaks to it.
//
// It exists because the stock FerretDB v1 command, installed from the module
// proxy, panics at start: it wants a generated version file that the module
// download does not carry. Embedding the library package avoids that check.
//
// Usage:
//
//	precis-ferretdb -listen 127.0.0.1:27117 \
//	    -postgresql-url postgres://postgres@127.0.0.1:15432/ferretdb [-log-level warn]
//
// The database must exist (UTF8, locale C). Only the PostgreSQL handler is
// offered: FerretDB's SQLite handler deadlocks and stalls under precis's
// load (docs/ferretdb.md), and one tested path beats two half-tested ones.
// The process runs in the foreground until SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// pinnedVersion is the FerretDB release this program is built against; it
// must match go.mod. scripts/bootstrap compares it with `-version`.
const pinnedVersion = "v1.24.2"

// defaultPoolConns is the PostgreSQL connection pool's size when the URL
// sets no pool_max_conns; scripts/services sizes max_connections to match.
const defaultPoolConns = 32

func main() {
	listen := flag.String("listen", "127.0.0.1:27117", "TCP address to listen on")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL of an existing database (required)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	showVersion := flag.Bool("version", false, "print the embedded FerretDB version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Println("precis-ferretdb ferretdb/" + pinnedVersion)
		return
	}
	if err := run(*listen, *pgURL, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "precis-ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, pgURL, logLevel string) error {
	if pgURL == "" {
		return fmt.Errorf("-postgresql-url is required")
	}
	u, err := url.Parse(pgURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return fmt.Errorf("-postgresql-url %q: want postgres://user@host:port/database", pgURL)
	}
	// pgxpool's default is max(4, CPUs) connections: on two cores a few
	// concurrent clients exhaust it while FerretDB's metadata lock is
	// held, and every request queues behind a createIndexes. Give the
	// pool room unless the URL says otherwise.
	q := u.Query()
	if q.Get("pool_max_conns") == "" {
		q.Set("pool_max_conns", strconv.Itoa(defaultPoolConns))
		u.RawQuery = q.Encode()
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(logLevel))); err != nil {
		return fmt.Errorf("-log-level %q: want debug, info, warn or error", logLevel)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: listen},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: u.String(),
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logger.Info("precis-ferretdb listening", "addr", listen, "postgresql", u.Redacted(), "ferretdb", pinnedVersion)
	return db.Run(ctx)
}
