// Package testpg gives each test a PostgreSQL schema of its own, so test
// runs never share data.
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Default is the server the tests use when TIDEGATE_TEST_POSTGRES is unset.
const Default = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Schema creates a fresh schema in the PostgreSQL at TIDEGATE_TEST_POSTGRES
// (else Default), drops it with everything in it when the test ends, and
// returns a URL whose connections use it (search_path). Without a server
// the test is skipped — or fails, when TIDEGATE_TEST_POSTGRES asks for one.
func Schema(t testing.TB) string {
	t.Helper()
	base, required := os.Getenv("TIDEGATE_TEST_POSTGRES"), true
	if base == "" {
		base, required = Default, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if required {
			t.Fatalf("PostgreSQL at TIDEGATE_TEST_POSTGRES: %v", err)
		}
		t.Skipf("no PostgreSQL at %s (%v); set TIDEGATE_TEST_POSTGRES to require one", redacted(base), err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "tg_test_" + hex.EncodeToString(b) // generated, safe to splice
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
