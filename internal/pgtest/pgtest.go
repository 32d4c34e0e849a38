// Package pgtest gives tests a PostgreSQL database of their own on the
// server LEADQ_TEST_POSTGRES names (a real server, as .ci/run starts one),
// and skips them with a clear message when the variable is unset. It is
// for tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Env is the variable naming the server: a URL such as
// postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable.
const Env = "LEADQ_TEST_POSTGRES"

// Server returns the server's URL, or skips the test when Env is unset.
func Server(t testing.TB) string {
	t.Helper()
	u := os.Getenv(Env)
	if u == "" {
		t.Skipf("skipped: %s is not set; this test needs a real PostgreSQL server (.ci/run starts one; locally, .ci/postgres.sh start /tmp/pg 55432 prints the URL to set it to)", Env)
	}
	return u
}

// Database creates an empty database on the server and returns its URL;
// it is dropped when the test ends. It skips the test when Env is unset.
func Database(t testing.TB) string {
	t.Helper()
	base := Server(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "leadq_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("%s: create database: %v", Env, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
